// RUN: dq-opt %s --dq-block-batch-sums --split-input-file --verify-diagnostics | FileCheck %s

// A batch of 8 in blocks of 2 (the step of four processes of batch 2): the
// per-channel sum becomes four copies of the op, each on its block of the
// images, and the blocks' sums are added as the collective adds four
// processes' sums, (b0 + b1) + (b2 + b3). The output along the batch is
// put back together from the blocks; the body's batch index is the
// image's index in the whole batch. The sum over the weights is left
// alone.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[X0:.*]] = tensor.extract_slice %arg1[0, 0, 0, 0] [2, 3, 3, 4] [1, 1, 1, 1] : tensor<8x3x3x4xf32> to tensor<2x3x3x4xf32>
// CHECK: %[[Y0:.*]] = tensor.extract_slice %[[EMPTY:.*]][0, 0, 0, 0] [2, 3, 3, 4] [1, 1, 1, 1]
// CHECK: %[[B0:.*]]:2 = linalg.generic {{.*}} ins(%[[X0]] : tensor<2x3x3x4xf32>) outs(%[[Y0]], %[[ZEROS:.*]] : tensor<2x3x3x4xf32>, tensor<4xf32>)
// CHECK: linalg.index 0
// CHECK-NOT: arith.addi
// CHECK: linalg.yield
// CHECK: %[[A0:.*]] = tensor.insert_slice %[[B0]]#0 into %[[EMPTY]][0, 0, 0, 0] [2, 3, 3, 4]
// CHECK: tensor.extract_slice %arg1[2, 0, 0, 0] [2, 3, 3, 4]
// CHECK: %[[B1:.*]]:2 = linalg.generic
// CHECK: %[[I1:.*]] = linalg.index 0
// CHECK: arith.addi %[[I1]], %c2
// CHECK: %[[A1:.*]] = tensor.insert_slice %[[B1]]#0 into %[[A0]][2, 0, 0, 0] [2, 3, 3, 4]
// CHECK: tensor.extract_slice %arg1[4, 0, 0, 0]
// CHECK: %[[B2:.*]]:2 = linalg.generic
// CHECK: tensor.extract_slice %arg1[6, 0, 0, 0]
// CHECK: %[[B3:.*]]:2 = linalg.generic
// CHECK: %[[ALL:.*]] = tensor.insert_slice %[[B3]]#0 into %{{.*}}[6, 0, 0, 0] [2, 3, 3, 4]
// CHECK: %[[S01:.*]] = linalg.generic {{.*}} ins(%[[B0]]#1, %[[B1]]#1 : tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.addf
// CHECK: %[[S23:.*]] = linalg.generic {{.*}} ins(%[[B2]]#1, %[[B3]]#1 : tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[S01]], %[[S23]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x4xf32>)
// CHECK-NOT: tensor.extract_slice
// CHECK: return %[[SUM]], %[[ALL]], %[[W]]
module attributes {dq.replica_batch = 2 : i64} {
  func.func @train_step(%w: tensor<4x4xf32>, %images: tensor<8x3x3x4xf32>,
                        %labels: tensor<8xi32>, %lr: f32, %step: i64)
      -> (tensor<4xf32>, tensor<8x3x3x4xf32>, tensor<4xf32>) {
    %zeros = arith.constant dense<0.0> : tensor<4xf32>
    %empty = tensor.empty() : tensor<8x3x3x4xf32>
    %y, %sum = linalg.generic {
        indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>,
                         affine_map<(n, h, w, c) -> (n, h, w, c)>,
                         affine_map<(n, h, w, c) -> (c)>],
        iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
        ins(%images : tensor<8x3x3x4xf32>) outs(%empty, %zeros : tensor<8x3x3x4xf32>, tensor<4xf32>) {
    ^bb0(%x: f32, %o: f32, %acc: f32):
      %n = linalg.index 0 : index
      %i = arith.index_cast %n : index to i32
      %f = arith.sitofp %i : i32 to f32
      %scaled = arith.mulf %x, %f : f32
      %s = arith.addf %acc, %scaled : f32
      linalg.yield %scaled, %s : f32, f32
    } -> (tensor<8x3x3x4xf32>, tensor<4xf32>)
    %wsum = linalg.generic {
        indexing_maps = [affine_map<(o, c) -> (o, c)>, affine_map<(o, c) -> (c)>],
        iterator_types = ["reduction", "parallel"]}
        ins(%w : tensor<4x4xf32>) outs(%zeros : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %s = arith.addf %acc, %a : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    return %sum, %y, %wsum : tensor<4xf32>, tensor<8x3x3x4xf32>, tensor<4xf32>
  }
}

// -----

// The batch followed through a reshape and a padding that leave it whole;
// a count over the batch (an integer sum, exact in any order) stays as it
// is, and so does a maximum.
// CHECK-LABEL: func.func @train_step
// CHECK: tensor.collapse_shape
// CHECK: tensor.pad
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [4, 11] [1, 1]
// CHECK: tensor.extract_slice %{{.*}}[4, 0] [4, 11] [1, 1]
// CHECK-NOT: tensor.extract_slice
// CHECK: return
module attributes {dq.replica_batch = 4 : i64} {
  func.func @train_step(%images: tensor<8x1x1x9xf32>, %labels: tensor<8xi32>,
                        %lr: f32, %step: i64) -> (tensor<11xf32>, tensor<i32>, tensor<f32>) {
    %flat = tensor.collapse_shape %images [[0, 1, 2], [3]] : tensor<8x1x1x9xf32> into tensor<8x9xf32>
    %c0 = arith.constant 0.0 : f32
    %padded = tensor.pad %flat low[0, 1] high[0, 1] {
    ^bb0(%i: index, %j: index):
      tensor.yield %c0 : f32
    } : tensor<8x9xf32> to tensor<8x11xf32>
    %zeros = arith.constant dense<0.0> : tensor<11xf32>
    %sum = linalg.generic {
        indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
        iterator_types = ["reduction", "parallel"]}
        ins(%padded : tensor<8x11xf32>) outs(%zeros : tensor<11xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %s = arith.addf %acc, %a : f32
      linalg.yield %s : f32
    } -> tensor<11xf32>
    %none = arith.constant dense<0> : tensor<i32>
    %count = linalg.generic {
        indexing_maps = [affine_map<(n) -> (n)>, affine_map<(n) -> ()>],
        iterator_types = ["reduction"]}
        ins(%labels : tensor<8xi32>) outs(%none : tensor<i32>) {
    ^bb0(%l: i32, %acc: i32):
      %s = arith.addi %acc, %l : i32
      linalg.yield %s : i32
    } -> tensor<i32>
    %low = arith.constant dense<0xFF800000> : tensor<f32>
    %max = linalg.generic {
        indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> ()>],
        iterator_types = ["reduction", "reduction"]}
        ins(%flat : tensor<8x9xf32>) outs(%low : tensor<f32>) {
    ^bb0(%a: f32, %acc: f32):
      %m = arith.maximumf %acc, %a : f32
      linalg.yield %m : f32
    } -> tensor<f32>
    return %sum, %count, %max : tensor<11xf32>, tensor<i32>, tensor<f32>
  }
}

// -----

// Without dq.replica_batch nothing changes.
// CHECK-LABEL: func.func @train_step
// CHECK-NOT: tensor.extract_slice
// CHECK: return
func.func @train_step(%images: tensor<8x4xf32>, %labels: tensor<8xi32>,
                      %lr: f32, %step: i64) -> tensor<4xf32> {
  %zeros = arith.constant dense<0.0> : tensor<4xf32>
  %sum = linalg.generic {
      indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%images : tensor<8x4xf32>) outs(%zeros : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %sum : tensor<4xf32>
}

// -----

module attributes {dq.replica_batch = 4 : i64} {
  // expected-error @below {{dq-block-batch-sums: dq.replica_batch = 4 must divide the batch of 6 into a power-of-two number of blocks}}
  func.func @train_step(%images: tensor<6x4xf32>, %labels: tensor<6xi32>,
                        %lr: f32, %step: i64) -> tensor<6x4xf32> {
    return %images : tensor<6x4xf32>
  }
}

// -----

module attributes {dq.replica_batch = 2 : i64} {
  func.func @train_step(%images: tensor<4x4xf32>, %labels: tensor<4xi32>,
                        %lr: f32, %step: i64) -> tensor<4xf32> {
    %ones = arith.constant dense<1.0> : tensor<4xf32>
    // expected-error @below {{dq-block-batch-sums: a sum over the batch that does not start from zeros}}
    %sum = linalg.generic {
        indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
        iterator_types = ["reduction", "parallel"]}
        ins(%images : tensor<4x4xf32>) outs(%ones : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %s = arith.addf %acc, %a : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    return %sum : tensor<4xf32>
  }
}

// -----

module attributes {dq.replica_batch = 2 : i64} {
  func.func @train_step(%images: tensor<4x4xf32>, %labels: tensor<4xi32>,
                        %lr: f32, %step: i64) -> tensor<4xf32> {
    %zeros = arith.constant dense<0.0> : tensor<4xf32>
    // expected-error @below {{dq-block-batch-sums: a reduction over the batch that is neither a sum nor a maximum or minimum}}
    %product = linalg.generic {
        indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
        iterator_types = ["reduction", "parallel"]}
        ins(%images : tensor<4x4xf32>) outs(%zeros : tensor<4xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %p = arith.mulf %acc, %a : f32
      linalg.yield %p : f32
    } -> tensor<4xf32>
    return %product : tensor<4xf32>
  }
}

// -----

module attributes {dq.replica_batch = 2 : i64} {
  func.func @train_step(%images: tensor<4x4xf32>, %labels: tensor<4xi32>,
                        %lr: f32, %step: i64) -> tensor<2x4xf32> {
    // expected-error @below {{dq-block-batch-sums: cannot follow the batch dimension (0 of operand}}
    %half = tensor.extract_slice %images[0, 0] [2, 4] [1, 1] : tensor<4x4xf32> to tensor<2x4xf32>
    return %half : tensor<2x4xf32>
  }
}

// -----

module attributes {dq.replica_batch = 2 : i64} {
  func.func @train_step(%images: tensor<4x4xf32>, %labels: tensor<4xi32>,
                        %lr: f32, %step: i64) -> tensor<4xf32> {
    %zeros = arith.constant dense<0.0> : tensor<4xf32>
    // expected-error @below {{dq-block-batch-sums: this op reads the batch dimension other than through one loop}}
    %crossed = linalg.generic {
        indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c, n)>,
                         affine_map<(n, c) -> (c)>],
        iterator_types = ["reduction", "parallel"]}
        ins(%images, %images : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zeros : tensor<4xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    return %crossed : tensor<4xf32>
  }
}
