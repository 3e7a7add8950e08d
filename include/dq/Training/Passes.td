//===- Passes.td - training-graph passes ------------------*- tablegen -*-===//

#ifndef DQ_TRAINING_PASSES_TD
#define DQ_TRAINING_PASSES_TD

include "mlir/Pass/PassBase.td"

def DQDifferentiate : Pass<"dq-differentiate", "::mlir::ModuleOp"> {
  let summary = "Builds the vector-Jacobian product of a function";
  let description = [{
    For the function named by `func`, with arguments `x...` and one tensor
    result `y = f(x...)`, adds `@<func>_vjp(x..., dy) -> (dx...)`: the
    gradient of `sum(dy * f(x...))` with respect to every floating-point
    tensor argument, built by reverse mode from the ops' gradient rules
    (`GradientOpInterface`). Used to check every rule against finite
    differences; the training-graph builder uses the same engine.

    An op on the path from the arguments to the result without a rule is an
    error naming the op and its location.

    ```mlir
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = tosa.mul %x, %x, %shift : ...
      return %y : tensor<4xf32>
    }
    // --dq-differentiate="func=f" adds
    func.func @f_vjp(%x: tensor<4xf32>, %dy: tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let options = [
    Option<"funcName", "func", "std::string", "\"\"",
           "Name of the function to differentiate">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tosa::TosaDialect"];
}

#endif // DQ_TRAINING_PASSES_TD
