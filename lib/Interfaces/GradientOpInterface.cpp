//===- GradientOpInterface.cpp - reverse-mode rules -----------------------===//

#include "dq/Interfaces/GradientOpInterface.h"

#include "dq/Interfaces/GradientOpInterface.cpp.inc"
