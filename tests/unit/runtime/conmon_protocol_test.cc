#include "runtime/conmon_protocol.h"

#include <gtest/gtest.h>

namespace crid::runtime {
namespace {

TEST(SyncMessage, ParsesPidFromApiV1AndLegacyKeys) {
  auto v1 = parse_sync_message(R"({"data": 4242})");
  ASSERT_TRUE(v1) << v1.error().message();
  EXPECT_EQ(v1->data, 4242);
  EXPECT_EQ(v1->message, "");
  auto legacy = parse_sync_message(R"({"pid": 17})");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->data, 17);
}

TEST(SyncMessage, CarriesTheRuntimeErrorWithEscapes) {
  // conmon escapes quotes, backslashes, newlines and control characters.
  auto m = parse_sync_message(
      R"({"data": -1, "message": "exec: \"/x\": stat /x: no such file\n\ttab\u0001"})");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data, -1);
  EXPECT_EQ(m->message, "exec: \"/x\": stat /x: no such file\n\ttab\x01");
}

TEST(SyncMessage, RejectsGarbage) {
  for (const char* bad : {"", "{", "{\"data\": \"x\"}", "{\"other\": 1}", "[1]", "pid 5"}) {
    auto m = parse_sync_message(bad);
    EXPECT_FALSE(m) << bad;
    if (!m) {
      EXPECT_NE(m.error().message().find("bad sync message"), std::string::npos);
    }
  }
}

TEST(CtlLine, ResizeAndReopen) {
  EXPECT_EQ(ctl_line(CtlMessage::kResize, 43, 132), "1 43 132\n");
  EXPECT_EQ(ctl_line(CtlMessage::kReopenLog, 0, 0), "2 0 0\n");
}

TEST(RuntimeMessage, StripsRuncLogrusFraming) {
  EXPECT_EQ(runtime_message("time=\"2026-11-27T10:37:52Z\" level=error msg=\"runc create failed: "
                            "exec: \\\"/nonexistent\\\": stat /nonexistent: no such file\"\n"),
            "runc create failed: exec: \"/nonexistent\": stat /nonexistent: no such file");
}

TEST(RuntimeMessage, KeepsPlainTextButTrims) {
  EXPECT_EQ(runtime_message("executable file `/x` not found in $PATH: No such file or directory\n"),
            "executable file `/x` not found in $PATH: No such file or directory");
  EXPECT_EQ(runtime_message(""), "");
  // An empty msg falls back to the whole text rather than saying nothing.
  EXPECT_EQ(runtime_message("level=error msg=\"\""), "level=error msg=\"\"");
}

}  // namespace
}  // namespace crid::runtime
