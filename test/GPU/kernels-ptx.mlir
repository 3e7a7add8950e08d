// Representative kernels of dq-lower-to-nvvm, checked in the PTX it embeds:
// the target, one entry per op (elementwise producers fused into their
// consumer), shared memory in the block reductions, no local memory (no
// spills, no stack arrays) anywhere; with ptxas, no spills.

// RUN: dq-opt %s --dq-lower-to-nvvm="chip=sm_90" | %python %dq_src/python/tools/gpu_ptx.py | FileCheck %s
// RUN: dq-opt %s --dq-lower-to-nvvm="chip=sm_80 features=+ptx70" | %python %dq_src/python/tools/gpu_ptx.py | FileCheck %s --check-prefix=SM80
// RUN: %if ptxas %{ dq-opt %s --dq-lower-to-nvvm="chip=sm_90" | %python %dq_src/python/tools/gpu_ptx.py --ptxas %ptxas --arch sm_90 | FileCheck %s --check-prefix=PTXAS %}

// CHECK: .target sm_90
// CHECK-NOT: .local
// SM80: .target sm_80
// SM80: .entry conv_kernel(

// A convolution: a block computes a tile of outputs, one per thread, the
// 3x3x4 reduction in registers starting from the fill's value (the fill
// needs no kernel); the block first copies the input and filter boxes its
// tile reads into shared memory (160 + 288 floats), then every thread reads
// its operands from there; mul and add not contracted (as on the CPU).
// CHECK-LABEL: .entry conv_kernel(
// CHECK: .shared .align 4 .b8 __wg_conv_kernel_0[
// CHECK: .shared .align 4 .b8 __wg_conv_kernel_1[1152]
// CHECK: bar.sync
// CHECK: ld.global
// CHECK: st.shared
// CHECK: bar.sync
// CHECK: ld.shared
// CHECK: mul.rn.f32
// CHECK-NEXT: add.rn.f32
// CHECK-NOT: .entry conv_kernel_
func.func @conv(%x: tensor<2x8x8x4xf32>, %w: tensor<3x3x4x8xf32>) -> tensor<2x6x6x8xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x6x6x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x6x6x8xf32>) -> tensor<2x6x6x8xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x8x8x4xf32>, tensor<3x3x4x8xf32>) outs(%init : tensor<2x6x6x8xf32>) -> tensor<2x6x6x8xf32>
  return %y : tensor<2x6x6x8xf32>
}

// A matmul: tiled the same way (both operands staged).
// CHECK-LABEL: .entry matmul_kernel(
// CHECK: .shared
// CHECK: ld.shared
// CHECK: mul.rn.f32
// CHECK-NEXT: add.rn.f32
// CHECK-NOT: .entry matmul_kernel_
func.func @matmul(%a: tensor<64x32xf32>, %b: tensor<32x16xf32>) -> tensor<64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<64x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<64x16xf32>) -> tensor<64x16xf32>
  %c = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x16xf32>) outs(%init : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %c : tensor<64x16xf32>
}

// A per-channel sum over 4*16*16 elements (batch-norm statistics): a block
// reduction through shared memory, combined into the output atomically.
// CHECK-LABEL: .entry channel_sum_kernel(
// CHECK-LABEL: .entry channel_sum_kernel_0(
// CHECK: .shared .align 4 .b8 __wg_channel_sum_kernel_0_0[1024]
// CHECK: bar.sync
// CHECK: atom.global.add.f32
#nhwc = affine_map<(c, n, h, w) -> (n, h, w, c)>
#channel = affine_map<(c, n, h, w) -> (c)>
func.func @channel_sum(%x: tensor<4x16x16x8xf32>) -> tensor<8xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#nhwc, #channel],
                         iterator_types = ["parallel", "reduction", "reduction", "reduction"]}
      ins(%x : tensor<4x16x16x8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %sum : tensor<8xf32>
}

// relu(a + b): the add is fused into the max, one kernel.
// CHECK-LABEL: .entry relu_add_kernel(
// CHECK-NOT: div.u
// CHECK: add.rn.f32
// CHECK-NEXT: max.NaN.f32
// CHECK-NOT: .entry relu_add_kernel_
#id = affine_map<(i, j) -> (i, j)>
func.func @relu_add(%a: tensor<128x64xf32>, %b: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<128x64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<128x64xf32>, tensor<128x64xf32>) outs(%empty : tensor<128x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<128x64xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<128x64xf32>) outs(%empty : tensor<128x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<128x64xf32>
  return %relu : tensor<128x64xf32>
}

// PTXAS-DAG: KERNEL conv_kernel registers {{[0-9]+}} stack 0 spill-stores 0 spill-loads 0 shared 1792
// PTXAS-DAG: KERNEL matmul_kernel registers {{[0-9]+}} stack 0 spill-stores 0 spill-loads 0 shared 4096
// PTXAS-DAG: KERNEL channel_sum_kernel_0 registers {{[0-9]+}} stack 0 spill-stores 0 spill-loads 0 shared 1024
