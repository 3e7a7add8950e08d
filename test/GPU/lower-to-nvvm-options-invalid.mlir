// Invalid dq-lower-to-nvvm options fail the run with one error naming the
// option, before any pass runs: no crash (an empty chip used to crash the
// NVPTX backend), no module dump, a non-zero exit.
// RUN: not dq-opt %s --dq-lower-to-nvvm="chip=" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not dq-opt %s --dq-lower-to-nvvm="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=GFX
// RUN: not dq-opt %s --dq-lower-to-nvvm="features=ptx80" 2>&1 | FileCheck %s --check-prefix=FEAT
// RUN: not dq-opt %s --dq-lower-to-nvvm="format=bogus" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not dq-opt %s --dq-lower-to-nvvm="opt-level=4" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not dq-opt %s --dq-lower-to-nvvm="block-size=0" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not dq-opt %s --dq-lower-to-nvvm="shared-memory-bytes=100000" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not dq-opt %s --dq-lower-to-nvvm="split-blocks=0" 2>&1 | FileCheck %s --check-prefix=SPLIT
// Valid spellings pass the check.
// RUN: dq-opt %s --dq-lower-to-nvvm="chip=sm_90a features=+ptx80 format=isa" -o /dev/null
// RUN: dq-opt %s --dq-lower-to-nvvm="chip=sm_80 features=" -o /dev/null

// CHIP: error: dq-lower-to-nvvm: option chip must be an NVIDIA architecture such as sm_80 or sm_90a, got ''
// CHIP-NOT: error
// CHIP-NOT: see current operation
// CHIP-NOT: llvm.func
// GFX: option chip must be an NVIDIA architecture such as sm_80 or sm_90a, got 'gfx90a'
// FEAT: option features must be empty or PTX versions such as +ptx80 (comma-separated), got 'ptx80'
// FORMAT: error: dq-lower-to-nvvm: option format must be isa, bin or fatbin, got 'bogus'
// FORMAT-NOT: error
// FORMAT-NOT: see current operation
// FORMAT-NOT: llvm.func
// OPT: option opt-level must be in [0, 3], got 4
// BLOCK: option block-size must be in [1, 1024], got 0
// SHARED: option shared-memory-bytes must be in [0, 49152], got 100000
// SPLIT: option split-blocks must be in [1, 1048576], got 0
func.func @model(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = tosa.add %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
