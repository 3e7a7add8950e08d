func.func @add(%a: tensor<3x5xf32>, %b: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %e = tensor.empty() : tensor<3x5xf32>
  %0 = linalg.add ins(%a, %b : tensor<3x5xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}
func.func @scale_sum(%a: tensor<7xf32>, %s: f32, %n: i64) -> (tensor<7xf32>, f32, i64) {
  %e = tensor.empty() : tensor<7xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%a : tensor<7xf32>) outs(%e : tensor<7xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %s : f32
    linalg.yield %m : f32
  } -> tensor<7xf32>
  %c1 = arith.constant 1 : i64
  %n1 = arith.addi %n, %c1 : i64
  return %0, %s, %n1 : tensor<7xf32>, f32, i64
}
func.func @dot(%a: tensor<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = tensor.extract %a[%c0] : tensor<4xf32>
  return %x : f32
}
func.func @passthrough(%a: tensor<2x2xi32>) -> tensor<2x2xi32> {
  return %a : tensor<2x2xi32>
}
