//===- FixedManifest.cpp - the manifest the reader targets check against --===//

#include "FixedManifest.h"

#include "dq/Contract/Roles.h"

using namespace dq::runtime;
using dq::contract::Role;

static std::string role(Role r) {
  return std::string(dq::contract::roleName(r));
}

const Manifest &dq::fuzz::fixedManifest() {
  static const Manifest manifest = [] {
    Manifest m;
    m.moduleHash = 0x0123456789abcdefULL;
    m.library.bytes = 4096;
    m.library.hash = 0xfedcba9876543210ULL;
    m.batch = 2;
    m.imageShape = {4, 4, 1};
    m.classes = 2;
    m.state = {
        {"conv.weight.codes", role(Role::Codes), DType::I8, {4, 3}},
        {"conv.weight.basis", role(Role::Basis), DType::F32, {4, 2}},
        {"conv.weight.momentum", role(Role::Momentum), DType::F32, {4, 3}},
        {"bn.running_mean", role(Role::RunningMean), DType::F32, {4}},
        {"act.basis", role(Role::ActBasis), DType::F32, {2}},
        {"fc.weight", role(Role::Param), DType::F32, {2, 4}},
        {"step", "step", DType::I64, {}},
    };
    m.entryPoints["train_step"] = {
        "_mlir_ciface_train_step",
        {"state...", "images f32[2,4,4,1]", "labels i32[2]", "lr f32",
         "step i64"},
        {"state...", "loss f32[]", "correct i32[]"}};
    m.entryPoints["predict"] = {"_mlir_ciface_predict",
                                {"state...", "images f32[2,4,4,1]"},
                                {"logits f32[2,2]"}};
    m.entryPoints["init_state"] = {"_mlir_ciface_init_state", {}, {"state..."}};
    // Through the parser: the fuzz targets see what a tool would load.
    return parseManifest(toJson(m), "fixed manifest");
  }();
  return manifest;
}
