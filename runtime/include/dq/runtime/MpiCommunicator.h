//===- MpiCommunicator.h - data-parallel runs over MPI ----------*- C++ -*-===//
//
// Built where Open MPI is installed (libopenmpi-dev; DQRuntimeMPI, which
// only dq-train links, so the runtime library and models never need MPI).
//
//===----------------------------------------------------------------------===//

#ifndef DQ_RUNTIME_MPICOMMUNICATOR_H
#define DQ_RUNTIME_MPICOMMUNICATOR_H

#include "dq/runtime/Communicator.h"

#include <memory>

namespace dq {
namespace runtime {

/// Initializes MPI (once per process) and returns the communicator of
/// MPI_COMM_WORLD; MPI is finalized when it is destroyed. Errors of MPI
/// calls are reported with this process's rank and end the whole run
/// (MPI_Abort): a step that missed a collective cannot go on.
std::unique_ptr<Communicator> openMpiCommunicator(int *argc, char ***argv);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_MPICOMMUNICATOR_H
