// dq-lower-to-llvm carries dense_resource constants (dq-import's large
// parameters) into the compiled code: the blob's values reach the result.
//
// REQUIRES: mlir-runner
// RUN: dq-opt %s --dq-lower-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s

// w . [1, 2, 3] + b for the four rows of the weight blob.
// CHECK: {{\[\[}}2.35, 0.95, -1.95, 1.525]]

func.func private @printMemrefF32(memref<*xf32>)

func.func @model(%x: tensor<1x1x1x3xf32>) -> tensor<1x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense_resource<conv.weight> : tensor<4x1x1x3xf32>}> : () -> tensor<4x1x1x3xf32>
  %b = "tosa.const"() <{values = dense_resource<conv.bias> : tensor<4xf32>}> : () -> tensor<4xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x1x1x3xf32>, tensor<4x1x1x3xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x4xf32>
  %s = tosa.const_shape {values = dense<[1, 4]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %r = tosa.reshape %y, %s : (tensor<1x1x1x4xf32>, !tosa.shape<2>) -> tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}

func.func @main() {
  %x = arith.constant dense<[[[[1.0, 2.0, 3.0]]]]> : tensor<1x1x1x3xf32>
  %y = call @model(%x) : (tensor<1x1x1x3xf32>) -> tensor<1x4xf32>
  %m = bufferization.to_buffer %y : tensor<1x4xf32> to memref<1x4xf32>
  %u = memref.cast %m : memref<1x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

{-#
  dialect_resources: {
    builtin: {
      conv.weight: "0x040000000000003F000080BE0000403F000080BF0000003E0000003F000000BF0000803E000040BF0000803F0000803E000000BE",
      conv.bias: "0x04000000CDCCCC3DCDCC4C3E9A99993ECDCCCC3E"
    }
  }
#-}
