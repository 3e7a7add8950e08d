//===- DQBase.td - dq dialect definition and enums --------*- tablegen -*-===//

#ifndef DQ_BASE_TD
#define DQ_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def DQ_Dialect : Dialect {
  let name = "dq";
  let cppNamespace = "::mlir::dq";
  let summary = "Direct Quantization: learnable binary-coding quantizers";
  let description = [{
    The `dq` dialect carries what upstream MLIR lacks to train and run
    networks whose weights and activations are quantized to learnable,
    non-uniform levels:

    * weights of a quantized layer are *codes* (an integer tensor, `K` bits
      per element) and a per-output-channel *basis* `v` of `K` values; the
      level of code `c` is `sum_k (2*bit_k(c) - 1) * v_k` (bipolar);
    * activations are quantized with one basis `u` per layer; the level of
      code `c` is `sum_k bit_k(c) * u_k` (unipolar);
    * the ops decode codes to values, quantize activations, project values
      onto levels and fit a basis by weighted ridge least squares.

    Rounding contract (shared by folds, lowering and the PyTorch reference):
    a value takes the nearest level, on an exact tie the larger one;
    values beyond the extreme levels take the extreme level.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  // dq.state / dq.role on entry-point arguments and results, dq.name on
  // ops: the training-module contract (include/dq/Contract/Roles.h).
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

def DQ_WeightScheme : I32EnumAttr<"WeightScheme",
    "how quantized weights are trained", [
      I32EnumAttrCase<"DQ", 0, "dq">,
      I32EnumAttrCase<"DQLean", 1, "dq_lean">,
      I32EnumAttrCase<"LQNets", 2, "lqnets">
    ]> {
  let cppNamespace = "::mlir::dq";
  let genSpecializedAttr = 0;
}

def DQ_ActScheme : I32EnumAttr<"ActScheme",
    "how activation quantizers are fitted", [
      I32EnumAttrCase<"DQ", 0, "dq">,
      I32EnumAttrCase<"LQNets", 1, "lqnets">
    ]> {
  let cppNamespace = "::mlir::dq";
  let genSpecializedAttr = 0;
}

def DQ_ChannelWeighting : I32EnumAttr<"ChannelWeighting",
    "per-channel weights of the activation level fit", [
      I32EnumAttrCase<"Uniform", 0, "uniform">,
      I32EnumAttrCase<"Energy", 1, "energy">
    ]> {
  let cppNamespace = "::mlir::dq";
  let genSpecializedAttr = 0;
}

def DQ_Encoding : I32EnumAttr<"Encoding",
    "how code bits map to levels", [
      I32EnumAttrCase<"Bipolar", 0, "bipolar">,
      I32EnumAttrCase<"Unipolar", 1, "unipolar">
    ]> {
  let cppNamespace = "::mlir::dq";
}

def DQ_Rounding : I32EnumAttr<"Rounding",
    "how values are projected onto levels", [
      I32EnumAttrCase<"Nearest", 0, "nearest">,
      I32EnumAttrCase<"Stochastic", 1, "stochastic">
    ]> {
  let cppNamespace = "::mlir::dq";
}

def DQ_Reduction : I32EnumAttr<"Reduction",
    "how dq.all_reduce combines the processes' tensors", [
      I32EnumAttrCase<"Sum", 0, "sum">,
      I32EnumAttrCase<"Mean", 1, "mean">
    ]> {
  let cppNamespace = "::mlir::dq";
}

#endif // DQ_BASE_TD
