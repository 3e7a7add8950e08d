//===- Communicator.cpp - the single-process communicator -----------------===//

#include "dq/runtime/Communicator.h"

#include <cstdlib>

dq::runtime::Communicator &dq::runtime::singleProcess() {
  static Communicator single;
  return single;
}

bool dq::runtime::launchedByMpi() {
  for (const char *name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}
