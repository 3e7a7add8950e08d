//===- GradientOpInterface.cpp - reverse-mode rules -----------------------===//

#include "dq/Training/GradientOpInterface.h"

#include "dq/Training/GradientOpInterface.cpp.inc"
