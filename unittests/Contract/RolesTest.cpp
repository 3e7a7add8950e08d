//===- RolesTest.cpp - the contract's role table --------------------------===//

#include "dq/Contract/Roles.h"

#include "dq/runtime/Export.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace dq::contract;

TEST(Roles, NamesRoundTrip) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    auto role = static_cast<Role>(i);
    EXPECT_EQ(roleFromName(roleName(role)), role) << kRoleNames[i];
    EXPECT_TRUE(seen.insert(roleName(role)).second)
        << "twice: " << kRoleNames[i];
  }
  EXPECT_EQ(roleFromName("bogus"), std::nullopt);
  EXPECT_EQ(roleFromName(""), std::nullopt);
  EXPECT_EQ(roleFromName("Codes"), std::nullopt);
}

TEST(Roles, ElementTypes) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    auto role = static_cast<Role>(i);
    EXPECT_EQ(elementTypeOf(role),
              role == Role::Codes ? ElementType::I8 : ElementType::F32)
        << kRoleNames[i];
  }
}

// The runtime's export keeps what predict reads, by the header's table.
TEST(Roles, RuntimeInferenceRoles) {
  for (std::string_view name : kRoleNames) {
    bool kept =
        name != "latent" && name != "momentum" && name != "second_moment";
    EXPECT_EQ(dq::runtime::isInferenceRole(std::string(name)), kept) << name;
    EXPECT_EQ(isInferenceRole(*roleFromName(name)), kept) << name;
  }
  EXPECT_FALSE(dq::runtime::isInferenceRole("bogus"));
  EXPECT_FALSE(dq::runtime::isInferenceRole(""));
}
