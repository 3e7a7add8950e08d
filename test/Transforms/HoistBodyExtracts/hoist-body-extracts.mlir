// RUN: dq-opt %s --split-input-file --dq-hoist-body-extracts | FileCheck %s

// A nearest-level scan reads its table at constant positions: both reads
// move in front of the generic; the body keeps its arithmetic.
// CHECK-LABEL: func.func @level_scan
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[L0:.*]] = tensor.extract %arg1[%[[C0]]] : tensor<2xf32>
// CHECK: %[[L1:.*]] = tensor.extract %arg1[%[[C1]]] : tensor<2xf32>
// CHECK: linalg.generic
// CHECK-NOT: tensor.extract
// CHECK: arith.subf %{{.*}}, %[[L0]]
// CHECK: arith.subf %{{.*}}, %[[L1]]
// CHECK: linalg.yield
func.func @level_scan(%x: tensor<8xf32>, %levels: tensor<2xf32>) -> tensor<8xi8> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<8xi8>
  %codes = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                           iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xi8>) {
  ^bb0(%v: f32, %out: i8):
    %l0 = tensor.extract %levels[%c0] : tensor<2xf32>
    %d0 = arith.subf %v, %l0 : f32
    %a0 = math.absf %d0 : f32
    %l1 = tensor.extract %levels[%c1] : tensor<2xf32>
    %d1 = arith.subf %v, %l1 : f32
    %a1 = math.absf %d1 : f32
    %up = arith.cmpf ole, %a1, %a0 : f32
    %one = arith.constant 1 : i8
    %zero = arith.constant 0 : i8
    %c = arith.select %up, %one, %zero : i8
    linalg.yield %c : i8
  } -> tensor<8xi8>
  return %codes : tensor<8xi8>
}

// -----

// A read at a position that depends on the element (a gather by code)
// stays in the body.
// CHECK-LABEL: func.func @gather
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: tensor.extract %arg0
// CHECK: linalg.yield
func.func @gather(%table: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%e : tensor<8xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %v = tensor.extract %table[%i] : tensor<8xf32>
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
