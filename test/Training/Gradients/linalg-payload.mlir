// Gradients of linalg.generic and linalg.reduce, whose payloads are
// differentiated symbolically: the ops upstream tosa-to-linalg emits around
// the layers (a bias broadcast into a convolution's init, ReLU and clamp,
// residual and broadcast adds, average pooling's division, sums) and every
// payload op with a derivative. Squared outputs keep a wrong index or sign
// from cancelling out.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 10 functions, 0 failed

#id4 = affine_map<(n, h, w, c) -> (n, h, w, c)>
#chan4 = affine_map<(n, h, w, c) -> (c)>
#id2 = affine_map<(i, j) -> (i, j)>
#row2 = affine_map<(i, j) -> (0, j)>
#tr2 = affine_map<(i, j) -> (j, i)>
#col = affine_map<(i, j) -> (i)>

// A bias broadcast into the init of a convolution (tosa-to-linalg-named's
// conv2d): the bias gets the output gradient summed over n, h, w. The
// output is not squared: the bias moves nine outputs at once, and their
// curvature would read as a kink.
func.func @conv_bias_init(%x: tensor<1x5x5x2xf32>, %w: tensor<3x3x3x2xf32>, %b: tensor<3xf32>) -> tensor<1x3x3x3xf32> {
  %e = tensor.empty() : tensor<1x3x3x3xf32>
  %init = linalg.generic {indexing_maps = [#chan4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : tensor<3xf32>) outs(%e : tensor<1x3x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x3x3x3xf32>
  %y = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x5x5x2xf32>, tensor<3x3x3x2xf32>) outs(%init : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// ReLU then clamp (maximumf / minimumf against constants, as
// tosa-to-linalg lowers tosa.clamp), squared.
func.func @relu_clamp(%x: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %e = tensor.empty() : tensor<4x5xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %lo = arith.constant 0.0 : f32
    %hi = arith.constant 0.5 : f32
    %a = arith.maximumf %in, %lo : f32
    %b = arith.minnumf %a, %hi : f32
    %s = arith.mulf %b, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// A residual add of two computed values and a broadcast row (the map with
// a constant 0 result that tosa-to-linalg gives a size-1 dim), products
// and a division by a computed value.
func.func @add_broadcast_mul_div(%x: tensor<4x5xf32>, %y: tensor<4x5xf32>, %r: tensor<1x5xf32>) -> tensor<4x5xf32> {
  %e = tensor.empty() : tensor<4x5xf32>
  %o = linalg.generic {indexing_maps = [#id2, #id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %y, %r : tensor<4x5xf32>, tensor<4x5xf32>, tensor<1x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.subf %s, %c : f32
    %p = arith.mulf %t, %a : f32
    %two = arith.constant 2.0 : f32
    %c2 = arith.mulf %c, %c : f32
    %d = arith.addf %c2, %two : f32
    %q = arith.divf %p, %d : f32
    %n = arith.negf %q : f32
    linalg.yield %n : f32
  } -> tensor<4x5xf32>
  return %o : tensor<4x5xf32>
}

// Average pooling as tosa-to-linalg-named emits it: a sum pooling, then a
// division by the window size.
func.func @avg_pool(%x: tensor<1x4x4x2xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %s = linalg.pooling_nhwc_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%x, %win : tensor<1x4x4x2xf32>, tensor<2x2xf32>) outs(%z : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %a = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<1x2x2x2xf32>) outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %one = arith.constant 1 : i32
    %cnt = arith.addi %ii, %one : i32
    %cf = arith.sitofp %cnt : i32 to f32
    %four = arith.constant 4.0 : f32
    %den = arith.mulf %four, %cf : f32
    %d = arith.divf %in, %den : f32
    %sq = arith.mulf %d, %d : f32
    linalg.yield %sq : f32
  } -> tensor<1x2x2x2xf32>
  return %a : tensor<1x2x2x2xf32>
}

// Transcendental payload ops; inputs are squared or shifted where the
// function needs positive arguments.
func.func @transcendentals(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %e = tensor.empty() : tensor<3x4xf32>
  %o = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<3x4xf32>) outs(%e : tensor<3x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %sq = arith.mulf %in, %in : f32
    %pos = arith.addf %sq, %one : f32
    %l = math.log %pos : f32
    %r = math.rsqrt %pos : f32
    %s = math.sqrt %pos : f32
    %t = math.tanh %in : f32
    %x2 = arith.mulf %in, %r : f32
    %ex = math.exp %x2 : f32
    %ab = math.absf %in : f32
    %a1 = arith.addf %l, %s : f32
    %a2 = arith.addf %a1, %t : f32
    %a3 = arith.addf %a2, %ex : f32
    %a4 = arith.mulf %a3, %ab : f32
    linalg.yield %a4 : f32
  } -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// select on a comparison, a payload reading its init, and f64 math through
// extf / truncf.
func.func @select_init_ext(%x: tensor<3x4xf32>, %c: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %o = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<3x4xf32>) outs(%c : tensor<3x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %in, %zero : f32
    %m = arith.mulf %in, %out : f32
    %s = arith.select %pos, %m, %out : f32
    %w = arith.extf %s : f32 to f64
    %w2 = arith.mulf %w, %w : f64
    %n = arith.truncf %w2 : f64 to f32
    linalg.yield %n : f32
  } -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// The maximum of two computed values (each operand takes the gradient
// where it is the larger).
func.func @maximum_of_two(%x: tensor<3x4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %e = tensor.empty() : tensor<3x4xf32>
  %o = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e : tensor<3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.maximumf %a, %b : f32
    %n = arith.minimumf %a, %b : f32
    %p = arith.mulf %m, %m : f32
    %q = arith.mulf %p, %n : f32
    linalg.yield %q : f32
  } -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// A transposed operand: its gradient is written through the transposed
// map.
func.func @transposed(%x: tensor<5x4xf32>, %y: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %e = tensor.empty() : tensor<4x5xf32>
  %o = linalg.generic {indexing_maps = [#tr2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<5x4xf32>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %a : f32
    linalg.yield %q : f32
  } -> tensor<4x5xf32>
  return %o : tensor<4x5xf32>
}

// A reduction generic (row sums of a product into a computed init).
func.func @row_sum(%x: tensor<4x5xf32>, %y: tensor<4x5xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  %s = linalg.generic {indexing_maps = [#id2, #id2, #col], iterator_types = ["parallel", "reduction"]} ins(%x, %y : tensor<4x5xf32>, tensor<4x5xf32>) outs(%c : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %a : f32
    %r = arith.addf %out, %q : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%s : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %sq : tensor<4xf32>
}

// linalg.reduce (tosa-to-linalg's reduce_sum) over dims 0 and 2.
func.func @reduce_sum(%x: tensor<3x4x5xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  %s = linalg.reduce ins(%x : tensor<3x4x5xf32>) outs(%c : tensor<4xf32>) dimensions = [0, 2]
    (%in: f32, %acc: f32) {
      %r = arith.addf %in, %acc : f32
      linalg.yield %r : f32
    }
  %e = tensor.empty() : tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%s : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %sq : tensor<4xf32>
}
