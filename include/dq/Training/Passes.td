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
           "Name of the function to differentiate (default: the only public "
           "function with a body)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tosa::TosaDialect"];
}

def DQBuildTrainingGraph : Pass<"dq-build-training-graph", "::mlir::ModuleOp"> {
  let summary = "Builds init_state, train_step and predict from a quantized "
                "model";
  let description = [{
    Turns the model function (`func`, default `model`; images `[N,H,W,C]` ->
    logits `[N,K]` or `[1,N,K]`) into

    * `@init_state() -> (state...)`: the initial value of every state tensor;
    * `@train_step(state..., images, labels: tensor<Nxi32>, lr: f32,
      step: i64) -> (state..., loss: tensor<f32>, correct: tensor<i32>)`:
      forward in training mode (batch statistics), softmax cross-entropy,
      reverse-mode gradients through the ops' rules, and every update of
      docs/Algorithm.md: SGD with momentum and weight decay (or Adam /
      AdamW, `optimizer`) for full-precision parameters, the `dq` /
      `dq_lean` / `lqnets` weight updates (scheme from each
      `dq.decode_weights` config; the optimizer's step is the direction
      they descend along), activation
      basis fits (channel-aware with trim for `weighting = energy`), and
      batch-norm running statistics;
    * `@predict(state..., images) -> logits`: inference mode;
    * with `calibration=true`, `@calibrate(state..., images, batches: i64,
      iterations: i64) -> (state...)`: activation calibration from data before
      training. Forward in inference mode; each activation quantizer, in
      the order of the forward pass, fits its basis to this batch's inputs
      (`iterations` alternations of nearest projection and the
      channel-aware fit, from the current basis), folds the fit into the
      running average over batches (`u + (fit - u) / (batches + 1)`,
      `batches` = the batches calibrated on before) and quantizes with the
      result, so later quantizers see calibrated inputs. Only the
      activation bases change.

    With `data-parallel=true` the step is that of one batch spread over the
    processes of a data-parallel run (docs/Runtime.md, "Data
    parallelism"): every weight and parameter gradient is a
    `dq.all_reduce mean` before the updates, the batch norms are
    `cross_replica` (synchronized), the activation fits and their channel
    weights are `cross_replica`, the running variance's unbiasing uses the
    whole batch, and the returned loss (mean) and `correct` (sum) are those
    of the whole batch. `@calibrate`'s fits are `cross_replica` too. Every
    process's state stays the same.

    `replica-batch=S` (with `data-parallel=true`) marks the module
    `dq.replica_batch = S`: compiled, one process with batch `N` computes
    the step of `N / S` processes of batch `S` bit for bit, its sums over
    the batch being sums of blocks of `S` images added in the collective's
    order (`dq-block-batch-sums`; docs/Runtime.md, "How exact").

    Every state tensor is tagged `{dq.state = "<layer>.<what>", dq.role =
    "<role>"}`; docs/TrainingGraph.md lists names, roles and order.

    Refused with an error: numeric options out of range (NaN and infinities
    included), a model that calls itself (directly or through other
    functions), and constant codes outside `[0, 2^K)`.

    ```mlir
    // dq-opt model.mlir --dq-quantize --dq-build-training-graph
    func.func @train_step(%arg0: tensor<8x3x3x8xi8> {dq.role = "codes",
                            dq.state = "block1.conv1.weight.codes"}, ...,
                          %images: tensor<128x28x28x1xf32>,
                          %labels: tensor<128xi32>, %lr: f32, %step: i64)
        -> (tensor<8x3x3x8xi8>, ..., tensor<f32>, tensor<i32>)
    ```
  }];
  let options = [
    Option<"funcName", "func", "std::string", "\"\"",
           "The model function (default: the only public function with a "
           "body, else @model)">,
    Option<"loss", "loss", "std::string", "\"softmax-cross-entropy\"",
           "Loss: softmax-cross-entropy">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "sgd (momentum, L2 weight decay), adam (L2 weight decay added to "
           "the gradient) or adamw (decoupled weight decay), each as "
           "torch.optim computes it">,
    Option<"momentum", "momentum", "double", "0.9",
           "SGD momentum, in [0, 1] (sgd only)">,
    Option<"beta1", "beta1", "double", "0.9",
           "Adam's first-moment factor, in [0, 1) (adam, adamw)">,
    Option<"beta2", "beta2", "double", "0.999",
           "Adam's second-moment factor, in [0, 1) (adam, adamw)">,
    Option<"adamEpsilon", "epsilon", "double", "1e-8",
           "Adam's denominator epsilon, > 0 (adam, adamw)">,
    Option<"weightDecay", "weight-decay", "double", "5e-4",
           "Weight decay of every trained tensor, >= 0 (L2 for sgd and "
           "adam, decoupled for adamw)">,
    Option<"ridge", "ridge", "double", "1e-4",
           "Ridge of the level fits toward the previous basis, > 0">,
    Option<"actMomentum", "act-momentum", "double", "0.9",
           "Moving-average factor of activation bases (u <- a u + (1-a) "
           "fit), in [0, 1]">,
    Option<"lqnetsBasisMomentum", "lqnets-basis-momentum", "double", "0.9",
           "Moving-average factor of lqnets weight bases, in [0, 1]">,
    Option<"bnMomentum", "bn-momentum", "double", "0.1",
           "Batch-norm running-statistics momentum (PyTorch convention), "
           "in [0, 1]">,
    Option<"trimEpsilon", "trim-epsilon", "double", "1e-8",
           "Epsilon of the channel energies in the channel-aware fit, > 0">,
    Option<"seed", "seed", "uint64_t", "0",
           "Seed of dq_lean's stochastic rounding (layer i uses seed + i)">,
    Option<"calibration", "calibration", "bool", "false",
           "Also build @calibrate (activation calibration from data; "
           "dq-train --calibrate); off by default: it adds about a third "
           "to the compile time of a training step">,
    Option<"dataParallel", "data-parallel", "bool", "false",
           "Build a step for data-parallel training (dq-train under mpirun): "
           "gradients, batch-norm statistics and the activation fits are "
           "all-reduced (dq.all_reduce) so that N processes with batch B "
           "take the step of one process with batch N*B; a single process "
           "runs it unchanged">,
    Option<"replicaBatch", "replica-batch", "int64_t", "0",
           "With data-parallel=true: the batch of each process of the run "
           "this one-process build is to reproduce bit for bit; every sum "
           "over the batch adds blocks of this many images in the "
           "collective's order (dq-block-batch-sums). Must divide the batch "
           "into a power-of-two number of blocks (0: the whole batch, one "
           "block)">,
  ];
  let dependentDialects = ["::mlir::dq::DQDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tosa::TosaDialect"];
}

def DQVerifyTrainingModule
    : Pass<"dq-verify-training-module", "::mlir::ModuleOp"> {
  let summary = "Checks a training module against the contract";
  let description = [{
    Checks what dq-compile, the runtime and the Python reference rely on
    (docs/TrainingGraph.md, include/dq/Contract/TrainingModule.h):
    `@init_state`, `@train_step` and `@predict` with bodies; every state
    tensor tagged `{dq.state = "<name>", dq.role = "<role>"}` with a known
    role and the element type the role has (`codes` i8, all others f32);
    the same state tensors (name, role, type) in the same order in
    `@init_state`'s results, `@train_step`'s arguments and results and
    `@predict`'s arguments, names unique; images, labels, learning rate,
    step, loss, correct count and logits typed as listed. Each violation is
    an error naming the function and the argument or result, by index and
    state name. The module is not changed.

    The training-graph builder checks its output the same way, and
    dq-compile checks its input before it writes a manifest.

    ```mlir
    // error: @predict argument 2 ('fc.weight2'): expected the state tensor
    //        'fc.weight' of @init_state result 2 (...)
    func.func @predict(..., %w: tensor<2x4xf32> {dq.role = "param",
                                                 dq.state = "fc.weight2"},
                       ...)
    ```
  }];
}

#endif // DQ_TRAINING_PASSES_TD
