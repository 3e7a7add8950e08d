#include <gtest/gtest.h>
TEST(StateFilePlaceholder, Empty) {}
