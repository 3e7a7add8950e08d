//===- Communicator.h - the processes of a data-parallel run ----*- C++ -*-===//
//
// dq-train under `mpirun -np N` runs N processes that train one model
// together: each takes its share of every batch, and the compiled step
// all-reduces what depends on the whole batch (dq.all_reduce; the model
// gets the collectives through DQCollectives). A Communicator is what the
// training loop needs of the other processes besides that: who it is, and
// agreement on facts and on stopping. A single process is the default;
// openMpiCommunicator (MpiCommunicator.h) is the MPI one.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_RUNTIME_COMMUNICATOR_H
#define DQ_RUNTIME_COMMUNICATOR_H

#include "dq/runtime/Collectives.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

class Communicator {
public:
  virtual ~Communicator() = default;
  /// This process's index in [0, size()).
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  /// What runs the processes, for messages ("MPI, 2 processes").
  virtual std::string describe() const { return "a single process"; }
  /// The collectives a data-parallel model calls; null in a single process
  /// (its all-reduces are then the identity).
  virtual const DQCollectives *collectives() { return nullptr; }
  /// The element-wise minimum and maximum of `values` over the processes
  /// (every process passes as many).
  virtual void minMax(const std::vector<uint64_t> &values,
                      std::vector<uint64_t> &min,
                      std::vector<uint64_t> &max) {
    min = max = values;
  }
  /// The element-wise sums of `values` over the processes, in place (exact:
  /// integers).
  virtual void sum(std::vector<uint64_t> &values) { (void)values; }
  /// Whether any process passed true.
  virtual bool any(bool flag) { return flag; }
  /// Ends every process of the run with `code` (after an error in this
  /// one, which the others may be waiting for). Nothing in one process.
  virtual void abortRun(int code) { (void)code; }
};

/// Whether this process was started by an MPI launcher (mpirun, srun):
/// its environment names a rank.
bool launchedByMpi();

/// The one process of a run without MPI.
Communicator &singleProcess();

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_COMMUNICATOR_H
