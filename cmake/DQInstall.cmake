# `cmake --install` (docs/Design.md, "Using dq as a library"): headers
# (with the generated .inc files), TableGen sources, libraries, tools, the
# mlir-opt plugin and a relocatable CMake package,
#
#   <prefix>/include/dq/...            include/dq, runtime/include/dq/runtime
#   <prefix>/include/dialects/dq/...   the dialect's headers and .td files
#   <prefix>/lib/libDQ*.a, DQPlugin.so
#   <prefix>/bin/dq-opt, dq-compile, dq-train, dq-run (, dq-import)
#   <prefix>/lib/cmake/dq/DQConfig.cmake, DQConfigVersion.cmake, DQTargets.cmake
#
# so that find_package(DQ) gives DQ::DQ (everything, with the registration
# of dq/Registration.h) and one target per library (DQ::Dialect, ...).

include(CMakePackageConfigHelpers)
set(DQ_INSTALL_PACKAGE_DIR lib${LLVM_LIBDIR_SUFFIX}/cmake/dq)

install(DIRECTORY include/dq runtime/include/dq
  DESTINATION include
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/dq
  DESTINATION include
  FILES_MATCHING PATTERN "*.inc"
  PATTERN CMakeFiles EXCLUDE)
install(DIRECTORY dialects/dq
  DESTINATION include/dialects
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/dialects/dq
  DESTINATION include/dialects
  FILES_MATCHING PATTERN "*.inc"
  PATTERN CMakeFiles EXCLUDE)

# Every add_mlir_library target is already installed into the export set
# that MLIR's CMake names MLIRTargets (LLVMDistributionSupport.cmake); the
# plain CMake libraries, the tools and the plugin join it, and it is written
# out as DQTargets.cmake under the DQ:: namespace.
set(DQ_EXPORT_SET MLIRTargets)
set(DQ_EXPORTED_LIBRARIES
  DQDialect Dialect
  DQContract Contract
  DQGradientInterface GradientInterface
  DQNumerics Numerics
  DQRuntime Runtime
  DQSupport Support
  DQTransforms Transforms
  DQTraining Training
  DQConversion Conversion
  DQGPU GPU
  DQPipelines Pipelines
  DQImport Import
  DQRegistration Registration
  DQCompile Compile)
while(DQ_EXPORTED_LIBRARIES)
  list(POP_FRONT DQ_EXPORTED_LIBRARIES target export_name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  target_include_directories(${target} INTERFACE $<INSTALL_INTERFACE:include>)
endwhile()
install(TARGETS DQNumerics DQRuntime DQCompile
  EXPORT ${DQ_EXPORT_SET}
  ARCHIVE DESTINATION lib${LLVM_LIBDIR_SUFFIX})

# The umbrella target: every dq library and the registration entry point.
add_library(DQ INTERFACE)
target_link_libraries(DQ INTERFACE DQRegistration DQImport)
install(TARGETS DQ EXPORT ${DQ_EXPORT_SET})

# Installed tools find libMLIR/libLLVM (and LibTorch) where they were
# linked from, not only in <prefix>/lib.
set(DQ_INSTALLED_TOOLS dq-opt dq-compile dq-train dq-run)
if(TARGET dq-import)
  list(APPEND DQ_INSTALLED_TOOLS dq-import)
endif()
foreach(tool ${DQ_INSTALLED_TOOLS})
  set_target_properties(${tool} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
endforeach()
install(TARGETS ${DQ_INSTALLED_TOOLS}
  EXPORT ${DQ_EXPORT_SET}
  RUNTIME DESTINATION bin)
if(TARGET DQPlugin)
  set_target_properties(DQPlugin PROPERTIES EXPORT_NAME Plugin
                                            INSTALL_RPATH_USE_LINK_PATH ON)
  install(TARGETS DQPlugin
    EXPORT ${DQ_EXPORT_SET}
    LIBRARY DESTINATION lib${LLVM_LIBDIR_SUFFIX})
endif()

# dq-compile links models against these, found in ../lib next to it.
install(TARGETS DQModelSupport ARCHIVE DESTINATION lib${LLVM_LIBDIR_SUFFIX})
if(TARGET DQConvLibrary)
  install(TARGETS DQConvLibrary ARCHIVE DESTINATION lib${LLVM_LIBDIR_SUFFIX})
endif()
install(TARGETS dq_runtime LIBRARY DESTINATION lib${LLVM_LIBDIR_SUFFIX})
if(TARGET dq_cuda_runtime)
  install(TARGETS dq_cuda_runtime LIBRARY DESTINATION lib${LLVM_LIBDIR_SUFFIX})
endif()

install(EXPORT ${DQ_EXPORT_SET}
  FILE DQTargets.cmake
  NAMESPACE DQ::
  DESTINATION ${DQ_INSTALL_PACKAGE_DIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/DQConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lib/cmake/dq/DQConfig.cmake
  INSTALL_DESTINATION ${DQ_INSTALL_PACKAGE_DIR})
# dq's C++ API may change from one minor version to the next.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/lib/cmake/dq/DQConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/lib/cmake/dq/DQConfig.cmake
  ${PROJECT_BINARY_DIR}/lib/cmake/dq/DQConfigVersion.cmake
  DESTINATION ${DQ_INSTALL_PACKAGE_DIR})
