//===- GradientOpInterface.td - reverse-mode rules ---------*- tablegen -*-===//

#ifndef DQ_INTERFACES_GRADIENTOPINTERFACE_TD
#define DQ_INTERFACES_GRADIENTOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def DQ_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::mlir::dq";
  let description = [{
    The reverse-mode rule of an op: given the gradients of the loss with
    respect to its results, build the gradients with respect to its operands
    (a vector-Jacobian product). Upstream ops (TOSA, linalg named ops) get
    it as external models; dq ops implement it natively. The training-graph
    builder reports an op on the differentiated path without this interface
    as an error naming the op.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds, at the builder's insertion point, the gradient of every
        operand `i` with `needed[i]` set and appends one value per operand
        to `operandGrads` (null for operands that get none). `resultGrads`
        holds one gradient per result, null where the loss does not depend on
        that result.
      }],
      "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // DQ_INTERFACES_GRADIENTOPINTERFACE_TD
