//===- Checks.cpp - validation of options and inputs ----------------------===//

#include "dq/Support/Checks.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::dq;

InFlightDiagnostic mlir::dq::emitOptionError(Location loc, StringRef pass,
                                             StringRef option) {
  // mlir::emitError(Location), not Operation::emitError: the latter attaches
  // the operation (the whole module for a module pass) as a note.
  return mlir::emitError(loc) << pass << ": option " << option << " ";
}

bool OptionRange::contains(double value) const {
  if (!std::isfinite(value))
    return false;
  bool aboveLo = loInclusive ? value >= lo : value > lo;
  bool belowHi = hiInclusive ? value <= hi : value < hi;
  return aboveLo && belowHi;
}

/// Shortest decimal form that reads back as `value` ("0.1", not
/// "0.10000000000000001").
static std::string formatNumber(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  for (int precision = 1; precision <= 17; ++precision) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::format("%.*g", precision, value);
    if (std::stod(text) == value)
      return text;
  }
  return std::to_string(value);
}

std::string OptionRange::describe() const {
  bool noLo = std::isinf(lo), noHi = std::isinf(hi);
  if (noLo && noHi)
    return "a finite number";
  if (noHi)
    return "a finite number " + std::string(loInclusive ? ">= " : "> ") +
           formatNumber(lo);
  if (noLo)
    return "a finite number " + std::string(hiInclusive ? "<= " : "< ") +
           formatNumber(hi);
  return std::string(loInclusive ? "in [" : "in (") + formatNumber(lo) + ", " +
         formatNumber(hi) + (hiInclusive ? "]" : ")");
}

LogicalResult mlir::dq::checkOption(Location loc, StringRef pass,
                                    StringRef option, double value,
                                    OptionRange range) {
  if (range.contains(value))
    return success();
  emitOptionError(loc, pass, option)
      << "must be " << range.describe() << ", got " << formatNumber(value);
  return failure();
}

LogicalResult mlir::dq::checkOption(Location loc, StringRef pass,
                                    StringRef option, int64_t value, int64_t lo,
                                    int64_t hi) {
  if (value >= lo && value <= hi)
    return success();
  emitOptionError(loc, pass, option)
      << "must be in [" << lo << ", " << hi << "], got " << value;
  return failure();
}

FailureOr<FunctionOpInterface>
mlir::dq::selectFunction(Operation *module, StringRef name, StringRef pass,
                         StringRef fallback) {
  Location loc = module->getLoc();
  if (!name.empty()) {
    auto func = dyn_cast_or_null<FunctionOpInterface>(
        SymbolTable::lookupSymbolIn(module, name));
    if (!func || func.isExternal()) {
      emitError(loc) << pass << ": no function named '" << name
                     << "' with a body (set func=<name>)";
      return failure();
    }
    return func;
  }
  SmallVector<FunctionOpInterface> candidates;
  for (Region &region : module->getRegions())
    for (Operation &op : region.getOps())
      if (auto func = dyn_cast<FunctionOpInterface>(op))
        if (!func.isExternal() && func.isPublic())
          candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  if (!fallback.empty())
    for (FunctionOpInterface func : candidates)
      if (func.getName() == fallback)
        return func;
  InFlightDiagnostic diag = emitError(loc) << pass << ": ";
  if (candidates.empty()) {
    diag << "the module has no public function with a body";
    return failure();
  }
  diag << "the module has " << candidates.size()
       << " public functions with a body (";
  llvm::interleaveComma(candidates, diag, [&](FunctionOpInterface func) {
    diag << "@" << func.getName();
  });
  diag << "); set func=<name>";
  return failure();
}

/// Depth-first over the call graph from `callable`; `path` holds the
/// functions being visited, `state` 1 while on the path and 2 when done.
static LogicalResult visitCalls(Operation *callable, StringRef pass,
                                SymbolTableCollection &tables,
                                SmallVectorImpl<Operation *> &path,
                                DenseMap<Operation *, int> &state) {
  state[callable] = 1;
  path.push_back(callable);
  WalkResult result = callable->walk([&](CallOpInterface call) {
    Operation *callee = call.resolveCallableInTable(&tables);
    if (!callee)
      return WalkResult::advance();
    int calleeState = state.lookup(callee);
    if (calleeState == 2)
      return WalkResult::advance();
    if (calleeState == 1) {
      InFlightDiagnostic diag = mlir::emitError(call.getLoc())
                                << pass << ": recursive call: ";
      auto *start = llvm::find(path, callee);
      for (Operation *f : llvm::make_range(start, path.end()))
        diag << "@" << SymbolTable::getSymbolName(f).getValue() << " -> ";
      diag << "@" << SymbolTable::getSymbolName(callee).getValue()
           << " (recursion is not supported: the call depth must be static)";
      return WalkResult::interrupt();
    }
    return failed(visitCalls(callee, pass, tables, path, state))
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  path.pop_back();
  state[callable] = 2;
  return failure(result.wasInterrupted());
}

LogicalResult mlir::dq::checkNoRecursion(Operation *root, StringRef pass) {
  SymbolTableCollection tables;
  SmallVector<Operation *> path;
  DenseMap<Operation *, int> state;
  return visitCalls(root, pass, tables, path, state);
}

bool mlir::dq::isMLIRBytecode(const llvm::MemoryBuffer &buffer) {
  return buffer.getBuffer().starts_with("ML\xefR");
}

LogicalResult mlir::dq::checkTextIRInput(const llvm::MemoryBuffer &buffer,
                                         llvm::raw_ostream &os) {
  if (isMLIRBytecode(buffer))
    return success();
  StringRef text = buffer.getBuffer();
  size_t nul = text.find('\0');
  if (nul == StringRef::npos)
    return success();
  StringRef before = text.take_front(nul);
  size_t line = before.count('\n') + 1;
  size_t lineStart = before.rfind('\n');
  size_t column = lineStart == StringRef::npos ? nul + 1 : nul - lineStart;
  os << buffer.getBufferIdentifier() << ":" << line << ":" << column
     << ": error: NUL byte in text IR (a binary or corrupted file? MLIR "
        "bytecode starts with \"ML\\xefR\")\n";
  return failure();
}
