// Out-of-range and unknown options are errors naming the option.
// RUN: not dq-opt %s --dq-quantize="w-bits=0" 2>&1 | FileCheck %s --check-prefix=WBITS0
// RUN: not dq-opt %s --dq-quantize="w-bits=9" 2>&1 | FileCheck %s --check-prefix=WBITS9
// RUN: not dq-opt %s --dq-quantize="a-bits=12" 2>&1 | FileCheck %s --check-prefix=ABITS
// RUN: not dq-opt %s --dq-quantize="w-scheme=binary" 2>&1 | FileCheck %s --check-prefix=WSCHEME
// RUN: not dq-opt %s --dq-quantize="a-scheme=dq-lean" 2>&1 | FileCheck %s --check-prefix=ASCHEME
// RUN: not dq-opt %s --dq-quantize="trim=1.5" 2>&1 | FileCheck %s --check-prefix=TRIM
// RUN: not dq-opt %s --dq-quantize="a-scheme=lqnets trim=0.1" 2>&1 | FileCheck %s --check-prefix=TRIMLQ
// RUN: not dq-opt %s --dq-quantize="wbits=2" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not dq-opt %s --dq-quantize="latent-init=random" 2>&1 | FileCheck %s --check-prefix=LATENT

// WBITS0: error: dq-quantize: option w-bits must be in [1, 8], got 0
// WBITS9: error: dq-quantize: option w-bits must be in [1, 8], got 9
// ABITS: error: dq-quantize: option a-bits must be in [1, 8], got 12
// WSCHEME: error: dq-quantize: option w-scheme must be dq, dq-lean or lqnets, got 'binary'
// ASCHEME: error: dq-quantize: option a-scheme must be dq or lqnets, got 'dq-lean'
// TRIM: error: dq-quantize: option trim must be in [0, 1), got 1.5
// TRIMLQ: error: dq-quantize: option trim needs a-scheme=dq
// UNKNOWN: no such option wbits
// LATENT: error: dq-quantize: option latent-init must be decoded or fp32, got 'random'
// Option errors do not print the module as a note.
// WBITS0-NOT: see current operation
// TRIM-NOT: see current operation
// RUN: not dq-opt %s --dq-quantize="trim=nan" 2>&1 | FileCheck %s --check-prefix=TRIMNAN
// TRIMNAN: error: dq-quantize: option trim must be in [0, 1), got nan

func.func @f() {
  return
}
