#include <gtest/gtest.h>

#include "oci/user_resolver.h"
#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using G = std::vector<uint32_t>;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# a comment\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "broken line without fields\n"
    "web:x:33:33::/var/www:/bin/false\n";

constexpr const char* kGroup =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "audio:x:29:app,web\n"
    "app:x:1000:\n"
    "staff:x:50:app\n"
    "www-data:x:33:\n";

Result<ResolvedUser> resolve(UserRequest r) { return resolve_user(r, kPasswd, kGroup); }

TEST(UserResolve, DefaultIsRootWithRootsGroups) {
  auto u = resolve({});
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->additional_gids, (G{0}));  // the primary group, listed first
}

TEST(UserResolve, ImageUserByNameGetsPrimaryAndMemberGroups) {
  auto u = resolve({.image_user = "app"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->additional_gids, (G{1000, 29, 50}));
}

TEST(UserResolve, ImageUserNumericWithoutEntryGetsGidZero) {
  auto u = resolve({.image_user = "4242"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
}

TEST(UserResolve, ImageUserNumericWithEntryUsesItsGid) {
  auto u = resolve({.image_user = "33"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 33u);
  EXPECT_EQ(u->gid, 33u);
  EXPECT_EQ(u->additional_gids, (G{33, 29}));
}

TEST(UserResolve, ImageUserWithGroupNameAndNumber) {
  auto u = resolve({.image_user = "app:staff"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 50u);
  u = resolve({.image_user = "1000:7"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 7u);
}

TEST(UserResolve, UnknownImageUserIsAnErrorNamingIt) {
  auto u = resolve({.image_user = "nobody-here"});
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(u.error().message().find("nobody-here"), std::string::npos);
}

TEST(UserResolve, UnknownImageGroupIsAnErrorNamingIt) {
  auto u = resolve({.image_user = "app:wheel"});
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message().find("wheel"), std::string::npos);
}

TEST(UserResolve, RunAsUserOverridesImageUser) {
  auto u = resolve({.run_as_user = 1000, .image_user = "web"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);  // from the passwd entry of uid 1000
}

TEST(UserResolve, RunAsGroupOverridesEveryPrimaryGroup) {
  auto u = resolve({.run_as_user = 1000, .run_as_group = 3000});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 3000u);
  u = resolve({.run_as_group = 3000, .image_user = "app:staff"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 3000u);
}

TEST(UserResolve, RunAsUsername) {
  auto u = resolve({.run_as_username = "web"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 33u);
  EXPECT_EQ(u->gid, 33u);
  auto missing = resolve({.run_as_username = "ghost"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("ghost"), std::string::npos);
}

TEST(UserResolve, SupplementalGroupsFirstThenMembershipWithoutDuplicates) {
  auto u = resolve({.image_user = "app", .supplemental_groups = {2000, 50, 2000}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->additional_gids, (G{1000, 2000, 50, 29}));
}

TEST(UserResolve, NegativeIdsAreRejected) {
  EXPECT_FALSE(resolve({.run_as_user = -1}));
  EXPECT_FALSE(resolve({.supplemental_groups = {-5}}));
}

TEST(UserResolve, NoPasswdFileStillWorksForNumericUsers) {
  auto u = resolve_user({.image_user = "1234:1234"}, "", "");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1234u);
  EXPECT_EQ(u->gid, 1234u);
}

TEST(SpecUser, BuilderWritesProcessUser) {
  auto in = testing::basic_inputs();
  in.passwd = kPasswd;
  in.group = kGroup;
  in.image.user = "app";
  in.request.security.supplemental_groups = {4000};
  auto spec = testing::build_or_die(in);
  EXPECT_EQ(spec["process"]["user"]["uid"], 1000);
  EXPECT_EQ(spec["process"]["user"]["gid"], 1000);
  EXPECT_EQ(spec["process"]["user"]["additionalGids"].get<G>(), (G{1000, 4000, 29, 50}));
}

TEST(SpecUser, BuilderFailsOnUnknownUser) {
  auto in = testing::basic_inputs();
  in.image.user = "postgres";
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("postgres"), std::string::npos);
}

}  // namespace
}  // namespace crid::oci
