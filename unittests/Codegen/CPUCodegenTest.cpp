//===- CPUCodegenTest.cpp - tests of the partitioned code generator -------===//

#include "dq/Codegen/CPUCodegen.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace dq::codegen;

namespace {

/// Private constants shared between functions, an internal function called
/// from another, an outlined body passed by address (as OpenMP's are),
/// entry-point wrappers.
constexpr const char *kModule = R"ir(
@table = private unnamed_addr constant [4 x float] [float 1.0, float 2.0, float 3.0, float 4.0], align 16
@only_scale = private unnamed_addr constant float 3.0, align 4
@counter = internal global i32 0

define internal float @helper(float %x, i64 %i) {
  %p = getelementptr [4 x float], ptr @table, i64 0, i64 %i
  %t = load float, ptr %p
  %r = fmul float %x, %t
  ret float %r
}

define internal void @body(ptr %out, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %p = getelementptr float, ptr %out, i64 %i
  %v = load float, ptr %p
  %k = and i64 %i, 3
  %w = call float @helper(float %v, i64 %k)
  store float %w, ptr %p
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}

declare void @run(ptr, ptr, i64)

define void @step(ptr %out, i64 %n) {
  call void @run(ptr @body, ptr %out, i64 %n)
  %c = load i32, ptr @counter
  %c1 = add i32 %c, 1
  store i32 %c1, ptr @counter
  ret void
}

define float @scale(float %x) {
  %s = load float, ptr @only_scale
  %q = load float, ptr getelementptr ([4 x float], ptr @table, i64 0, i64 2)
  %sq = fmul float %s, %q
  %r = fmul float %x, %sq
  %t = call float @helper(float %r, i64 1)
  ret float %t
}

define void @_mlir_ciface_step(ptr %out, i64 %n) {
  call void @step(ptr %out, i64 %n)
  ret void
}

define void @dq_step(ptr %args) {
  %out = load ptr, ptr %args
  call void @_mlir_ciface_step(ptr %out, i64 16)
  ret void
}
)ir";

class CPUCodegen : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  }

  TargetSpec spec() {
    llvm::Expected<TargetSpec> spec = resolveTarget("generic");
    EXPECT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
    return *spec;
  }

  std::unique_ptr<llvm::Module> parse(llvm::LLVMContext &context,
                                      const char *text = kModule) {
    llvm::SMDiagnostic error;
    std::unique_ptr<llvm::Module> module =
        llvm::parseAssemblyString(text, error, context);
    EXPECT_TRUE(module) << error.getMessage().str();
    TargetSpec target = spec();
    auto machine = createTargetMachine(target);
    EXPECT_TRUE(bool(machine));
    module->setTargetTriple((*machine)->getTargetTriple());
    module->setDataLayout((*machine)->createDataLayout());
    return module;
  }

  CodegenResult compile(unsigned partitions, unsigned threads,
                        std::string *ir = nullptr,
                        const char *text = kModule,
                        bool sizeOptimizeSerialCode = true) {
    llvm::LLVMContext context;
    CodegenOptions options;
    options.sizeOptimizeSerialCode = sizeOptimizeSerialCode;
    options.partitions = partitions;
    options.threads = threads;
    options.glueFunctions = {"_mlir_ciface_step", "dq_step"};
    std::optional<llvm::raw_string_ostream> os;
    if (ir) {
      os.emplace(*ir);
      options.optimizedIR = &*os;
    }
    llvm::Expected<CodegenResult> result =
        compileToObjects(parse(context, text), spec(), options);
    EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
    return std::move(*result);
  }

  /// name -> (defined, global binding, hidden), over every object.
  std::map<std::string, std::set<std::string>>
  symbols(const CodegenResult &result) {
    std::map<std::string, std::set<std::string>> table;
    for (const std::string &bytes : result.objects) {
      auto object = llvm::object::ObjectFile::createObjectFile(
          llvm::MemoryBufferRef(bytes, "object"));
      EXPECT_TRUE(bool(object));
      if (!object)
        continue;
      for (const llvm::object::SymbolRef &symbol : (*object)->symbols()) {
        llvm::Expected<llvm::StringRef> name = symbol.getName();
        llvm::Expected<uint32_t> flags = symbol.getFlags();
        if (!name || !flags || name->empty())
          continue;
        bool undefined = *flags & llvm::object::SymbolRef::SF_Undefined;
        table[name->str()].insert(undefined ? "undefined" : "defined");
      }
    }
    return table;
  }
};

TEST_F(CPUCodegen, ObjectsAreTheSameForAnyThreadCount) {
  CodegenResult one = compile(3, 1);
  ASSERT_EQ(one.objects.size(), 3u);
  EXPECT_EQ(one.threads, 1u);
  for (unsigned threads : {2u, 3u, 8u}) {
    CodegenResult many = compile(3, threads);
    EXPECT_EQ(many.threads, std::min(threads, 3u));
    ASSERT_EQ(many.objects.size(), one.objects.size());
    for (size_t k = 0; k < one.objects.size(); ++k)
      EXPECT_TRUE(many.objects[k] == one.objects[k])
          << "partition " << k << " with " << threads << " threads";
  }
  // And from one run to the next.
  CodegenResult again = compile(3, 2);
  for (size_t k = 0; k < one.objects.size(); ++k)
    EXPECT_TRUE(again.objects[k] == one.objects[k]);
}

TEST_F(CPUCodegen, OnePartitionIsTheWholeModule) {
  CodegenResult whole = compile(1, 4);
  ASSERT_EQ(whole.objects.size(), 1u);
  ASSERT_EQ(whole.partitions.size(), 1u);
  EXPECT_EQ(whole.partitions[0].functions, 6u);
  EXPECT_EQ(whole.threads, 1u);
  // Local symbols stay local.
  auto table = symbols(whole);
  EXPECT_EQ(table.count("__dq_part.helper"), 0u);
}

TEST_F(CPUCodegen, NoMorePartitionsThanFunctions) {
  CodegenResult result = compile(64, 2);
  EXPECT_EQ(result.objects.size(), 6u);
  unsigned functions = 0;
  for (const PartitionStats &stats : result.partitions) {
    EXPECT_EQ(stats.functions, 1u);
    functions += stats.functions;
  }
  EXPECT_EQ(functions, 6u);
}

TEST_F(CPUCodegen, SharedLocalsBecomeHiddenDefinitionsOnce) {
  CodegenResult result = compile(6, 2);
  auto table = symbols(result);
  // @helper and @table are used from several partitions: one definition,
  // references elsewhere. @only_scale has one user and stays private.
  for (const char *name : {"__dq_part.helper", "__dq_part.table"}) {
    ASSERT_EQ(table.count(name), 1u) << name;
    EXPECT_TRUE(table[name].count("defined")) << name;
    EXPECT_TRUE(table[name].count("undefined")) << name;
  }
  EXPECT_EQ(table.count("__dq_part.only_scale"), 0u);
  for (const char *name : {"step", "scale", "dq_step", "_mlir_ciface_step"})
    EXPECT_TRUE(table[name].count("defined")) << name;
}

TEST_F(CPUCodegen, OptimizedIRLinksThePartitions) {
  std::string ir;
  compile(3, 2, &ir);
  for (const char *name : {"@step(", "@scale(", "@dq_step(", "@__dq_part.helper("})
    EXPECT_NE(ir.find(name), std::string::npos) << name;
  llvm::LLVMContext context;
  llvm::SMDiagnostic error;
  EXPECT_TRUE(llvm::parseAssemblyString(ir, error, context))
      << error.getMessage().str();
}

TEST_F(CPUCodegen, GlueFunctionsAreNotOptimizedByTheCodeGenerator) {
  std::string ir;
  // The IR is printed before the glue functions get optnone; the objects
  // exist either way.
  CodegenResult result = compile(1, 1, &ir);
  EXPECT_EQ(result.objects.size(), 1u);
  EXPECT_EQ(ir.find("optnone"), std::string::npos);
}

TEST_F(CPUCodegen, ModulesWithAliasesAreNotPartitioned) {
  std::string text = std::string(kModule) +
                     "@step_alias = alias void (ptr, i64), ptr @step\n";
  CodegenResult result = compile(4, 2, nullptr, text.c_str());
  EXPECT_EQ(result.objects.size(), 1u);
  EXPECT_NE(result.unsplitReason.find("aliases"), std::string::npos);
}

TEST_F(CPUCodegen, UnknownCPUsAreErrors) {
  llvm::Expected<TargetSpec> spec = resolveTarget("no-such-cpu");
  ASSERT_FALSE(bool(spec));
  EXPECT_NE(llvm::toString(spec.takeError()).find("no-such-cpu"),
            std::string::npos);
  llvm::Expected<TargetSpec> host = resolveTarget("host");
  ASSERT_TRUE(bool(host)) << llvm::toString(host.takeError());
  EXPECT_NE(host->cpu, "host");
}

} // namespace

TEST_F(CPUCodegen, FloatDecidedSelectsAreMarkedUnpredictable) {
  // A select on a float compare decides on tensor data (a level search);
  // one on an integer compare (an index clamp) is left to the heuristics.
  constexpr const char *text = R"ir(
define i64 @pick(float %x, float %y, i64 %a, i64 %b, i64 %n) {
  %c = fcmp ole float %x, %y
  %s = select i1 %c, i64 %a, i64 %b
  %d = icmp eq i64 %n, 7
  %t = select i1 %d, i64 %s, i64 %n
  ret i64 %t
}
)ir";
  std::string ir;
  compile(1, 1, &ir, text);
  unsigned marked = 0, unmarked = 0;
  llvm::StringRef rest(ir);
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    rest = tail;
    if (!line.contains(" select "))
      continue;
    (line.contains("!unpredictable") ? marked : unmarked) += 1;
  }
  EXPECT_EQ(marked, 1u) << ir;
  EXPECT_EQ(unmarked, 1u) << ir;
}

namespace {

/// An OpenMP parallel region as the MLIR translation emits it: the outlined
/// body (the microtask) passed to __kmpc_fork_call, calling a helper.
constexpr const char *kParallelModule = R"ir(
%ident = type { i32, i32, i32, i32, ptr }
@loc = private unnamed_addr constant %ident zeroinitializer

declare void @__kmpc_fork_call(ptr, i32, ptr, ...)

define internal void @helper(ptr %out, i64 %i) noinline {
  %p = getelementptr float, ptr %out, i64 %i
  store float 1.0, ptr %p
  ret void
}

define internal void @microtask(ptr %tid, ptr %bound, ptr %out) {
  call void @helper(ptr %out, i64 0)
  ret void
}

define void @serial(ptr %out, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %p = getelementptr float, ptr %out, i64 %i
  store float 2.0, ptr %p
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  call void (ptr, i32, ptr, ...) @__kmpc_fork_call(ptr @loc, i32 1, ptr @microtask, ptr %out)
  ret void
}
)ir";

/// The functions of `ir` (printed LLVM IR) that have optsize.
std::set<std::string> sizeOptimized(const std::string &ir) {
  llvm::LLVMContext context;
  llvm::SMDiagnostic error;
  std::unique_ptr<llvm::Module> module =
      llvm::parseAssemblyString(ir, error, context);
  EXPECT_TRUE(module) << error.getMessage().str();
  std::set<std::string> names;
  if (module)
    for (const llvm::Function &function : *module)
      if (function.hasFnAttribute(llvm::Attribute::OptimizeForSize))
        names.insert(function.getName().str());
  return names;
}

} // namespace

TEST_F(CPUCodegen, SerialCodeOfParallelModulesIsOptimizedForSize) {
  for (unsigned partitions : {1u, 3u}) {
    std::string ir;
    compile(partitions, 1, &ir, kParallelModule);
    // The parallel region's body and what it calls keep the full
    // optimization; the serial function gets optsize.
    EXPECT_EQ(sizeOptimized(ir), std::set<std::string>{"serial"}) << ir;
  }
  // Without parallel regions the serial code is all of the work.
  std::string ir;
  compile(1, 1, &ir);
  EXPECT_TRUE(sizeOptimized(ir).empty()) << ir;
  // Off (inference libraries): nothing is optimized for size.
  std::string off;
  compile(1, 1, &off, kParallelModule, /*sizeOptimizeSerialCode=*/false);
  EXPECT_TRUE(sizeOptimized(off).empty()) << off;
}
