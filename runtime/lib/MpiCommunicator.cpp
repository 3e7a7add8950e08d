//===- MpiCommunicator.cpp - data-parallel runs over MPI ------------------===//

#include "dq/runtime/MpiCommunicator.h"

#include "dq/runtime/Error.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace dq {
namespace runtime {
namespace {

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as codes, so they can be reported with the rank.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    collectives_.version = DQ_COLLECTIVES_VERSION;
    collectives_.all_reduce = &MpiCommunicator::allReduce;
    collectives_.context = this;
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    return "MPI, " + std::to_string(size_) + " processes";
  }
  const DQCollectives *collectives() override { return &collectives_; }

  void minMax(const std::vector<uint64_t> &values, std::vector<uint64_t> &min,
              std::vector<uint64_t> &max) override {
    min.assign(values.size(), 0);
    max.assign(values.size(), 0);
    int n = static_cast<int>(values.size());
    check(MPI_Allreduce(values.data(), min.data(), n, MPI_UINT64_T, MPI_MIN,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (min)");
    check(MPI_Allreduce(values.data(), max.data(), n, MPI_UINT64_T, MPI_MAX,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (max)");
  }

  void sum(std::vector<uint64_t> &values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                        static_cast<int>(values.size()), MPI_UINT64_T, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (sum)");
  }

  void abortRun(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

  bool any(bool flag) override {
    int local = flag ? 1 : 0, global = 0;
    check(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
          "MPI_Allreduce (any)");
    return global != 0;
  }

private:
  /// Reports a failed MPI call with the rank and ends the run.
  void check(int code, const char *what) const {
    if (code == MPI_SUCCESS)
      return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    std::fprintf(stderr, "dq-train: rank %d of %d: %s failed: %.*s\n", rank_,
                 size_, what, length, text);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }

  static int allReduce(void *context, void *data, int64_t count, int32_t type,
                       int32_t reduction) {
    auto *self = static_cast<MpiCommunicator *>(context);
    MPI_Datatype mpiType = type == DQ_COLLECTIVE_F64   ? MPI_DOUBLE
                           : type == DQ_COLLECTIVE_I32 ? MPI_INT32_T
                                                       : MPI_FLOAT;
    // One call moves at most INT_MAX elements.
    char *bytes = static_cast<char *>(data);
    int elementSize = 0;
    MPI_Type_size(mpiType, &elementSize);
    for (int64_t done = 0; done < count;) {
      int n = static_cast<int>(std::min<int64_t>(count - done, 1 << 30));
      self->check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * elementSize, n,
                                mpiType, MPI_SUM, MPI_COMM_WORLD),
                  "MPI_Allreduce of a training step");
      done += n;
    }
    if (reduction == DQ_COLLECTIVE_MEAN) {
      double scale = 1.0 / self->size_;
      if (type == DQ_COLLECTIVE_F64)
        for (int64_t i = 0; i < count; ++i)
          static_cast<double *>(data)[i] *= scale;
      else if (type == DQ_COLLECTIVE_F32)
        for (int64_t i = 0; i < count; ++i)
          static_cast<float *>(data)[i] =
              static_cast<float>(static_cast<float *>(data)[i] * scale);
    }
    return 0;
  }

  int rank_ = 0, size_ = 1;
  DQCollectives collectives_{};
};

} // namespace

std::unique_ptr<Communicator> openMpiCommunicator(int *argc, char ***argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && MPI_Init(argc, argv) != MPI_SUCCESS)
    throw Error("MPI_Init failed: cannot join the run's other processes");
  return std::make_unique<MpiCommunicator>();
}

} // namespace runtime
} // namespace dq
