#include "stream/websocket_channels.h"

#include <gtest/gtest.h>

#include "stream/base64.h"
#include "stream/websocket_query.h"
#include "stream/websocket_resize.h"

namespace crid::stream::ws {
namespace {

TEST(WebSocketChannels, BinaryPrefixesTheChannelByte) {
  Message m = encode_channel_message(ChannelCodec::kBinary, 1, "\n");
  EXPECT_EQ(m.opcode, Opcode::kBinary);
  EXPECT_EQ(m.payload, std::string("\x01\n", 2));
  auto back = decode_channel_message(ChannelCodec::kBinary, Message{Opcode::kBinary, std::string("\0foo\n", 5)});
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->channel, 0);
  EXPECT_EQ((*back)->data, "foo\n");
}

TEST(WebSocketChannels, Base64UsesADigitAndText) {
  // kubelet's documented example: "\n" on stdout is "1Cg==".
  Message m = encode_channel_message(ChannelCodec::kBase64, 1, "\n");
  EXPECT_EQ(m.opcode, Opcode::kText);
  EXPECT_EQ(m.payload, "1Cg==");
  auto back = decode_channel_message(ChannelCodec::kBase64, Message{Opcode::kText, "0Zm9vCg=="});
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->channel, 0);
  EXPECT_EQ((*back)->data, "foo\n");
  // A channel with nothing in it.
  back = decode_channel_message(ChannelCodec::kBase64, Message{Opcode::kText, "4"});
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->channel, 4);
  EXPECT_EQ((*back)->data, "");
  EXPECT_FALSE(decode_channel_message(ChannelCodec::kBase64, Message{Opcode::kText, "0Zm9v!g=="}));
}

TEST(WebSocketChannels, EmptyMessageHasNoChannel) {
  auto r = decode_channel_message(ChannelCodec::kBinary, Message{Opcode::kBinary, ""});
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST(WebSocketChannels, ProtocolTable) {
  const ChannelProtocol* v5 = find_protocol(remote_command_protocols(), "v5.channel.k8s.io");
  ASSERT_NE(v5, nullptr);
  EXPECT_TRUE(v5->close_signal);
  EXPECT_TRUE(v5->status_json);
  const ChannelProtocol* b64 = find_protocol(remote_command_protocols(), "base64.channel.k8s.io");
  ASSERT_NE(b64, nullptr);
  EXPECT_EQ(b64->codec, ChannelCodec::kBase64);
  EXPECT_FALSE(b64->status_json);
  EXPECT_FALSE(find_protocol(remote_command_protocols(), "v3.channel.k8s.io"));
  EXPECT_TRUE(find_protocol(port_forward_protocols(), "portforward.k8s.io"));
  EXPECT_TRUE(find_protocol(port_forward_protocols(), "v4.channel.k8s.io"));
  EXPECT_FALSE(find_protocol(port_forward_protocols(), "v5.channel.k8s.io"));
}

TEST(WebSocketStatus, JsonLikeMetav1Status) {
  EXPECT_EQ(status_json({}), R"({"metadata":{},"status":"Success"})");
  CommandOutcome exit3{CommandOutcome::Kind::kExitCode, 3, ""};
  EXPECT_EQ(status_json(exit3),
            R"({"metadata":{},"status":"Failure",)"
            R"("message":"command terminated with non-zero exit code: exit status 3",)"
            R"("reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
  CommandOutcome err{CommandOutcome::Kind::kError, 0, "runtime said no"};
  EXPECT_EQ(status_json(err),
            R"({"metadata":{},"status":"Failure","message":"Internal error occurred: runtime said no",)"
            R"("reason":"InternalError","details":{"causes":[{"message":"runtime said no"}]},"code":500})");
}

TEST(WebSocketStatus, PlainTextBeforeV4) {
  EXPECT_EQ(status_text({}), "");
  EXPECT_EQ(status_text({CommandOutcome::Kind::kExitCode, 2, ""}),
            "command terminated with non-zero exit code: exit status 2");
}

TEST(Base64, StrictDecoding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(base64_decode("Zg="));     // length
  EXPECT_FALSE(base64_decode("Z=g="));    // padding inside
  EXPECT_FALSE(base64_decode(" Zg=="));   // whitespace OpenSSL would skip
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zg=A"));
}

TEST(ResizeDecoder, ObjectsAcrossAndWithinMessages) {
  ResizeDecoder d;
  auto r = d.feed(R"({"Width":80,"Height":24})");
  ASSERT_EQ(r.sizes.size(), 1u);
  EXPECT_EQ(r.sizes[0].width, 80);
  EXPECT_EQ(r.sizes[0].height, 24);

  r = d.feed(R"({"Width":100,)");
  EXPECT_TRUE(r.sizes.empty());
  EXPECT_TRUE(r.errors.empty());
  r = d.feed(R"( "Height":40}{"width":1,"height":2})");
  ASSERT_EQ(r.sizes.size(), 2u);
  EXPECT_EQ(r.sizes[0].width, 100);
  EXPECT_EQ(r.sizes[0].height, 40);
  EXPECT_EQ(r.sizes[1].width, 1);  // Go's decoder ignores case
}

TEST(ResizeDecoder, BadObjectsReportedAndSkipped) {
  ResizeDecoder d;
  auto r = d.feed(R"({"Width":-1,"Height":2}{"Width":70000}garbage}{"Width":5,"Height":6})");
  ASSERT_EQ(r.sizes.size(), 1u);
  EXPECT_EQ(r.sizes[0].width, 5);
  EXPECT_EQ(r.errors.size(), 3u);
  r = d.feed(std::string(5000, 'x'));
  EXPECT_EQ(r.errors.size(), 1u);
  r = d.feed(R"({"Width":7,"Height":8})");
  ASSERT_EQ(r.sizes.size(), 1u);
}

HttpRequest with_query(std::vector<std::pair<std::string, std::string>> q) {
  HttpRequest r;
  r.query = std::move(q);
  return r;
}

TEST(WebSocketQuery, NoQueryMeansTheRequest) {
  auto f = streams_for(with_query({}), {true, true, false, false});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->stdin);
  EXPECT_TRUE(f->stdout);
  EXPECT_FALSE(f->stderr);
}

TEST(WebSocketQuery, NarrowsButNeverWidens) {
  auto f = streams_for(with_query({{"stdin", "true"}, {"stdout", "1"}, {"stderr", "0"}}),
                       {true, true, true, false});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->stdin);
  EXPECT_FALSE(f->stderr);

  auto wider = streams_for(with_query({{"stdin", "1"}}), {false, true, true, false});
  ASSERT_FALSE(wider);
  EXPECT_NE(wider.error().message().find("stdin"), std::string::npos);
  EXPECT_FALSE(streams_for(with_query({{"tty", "1"}}), {false, true, true, false}));
  EXPECT_FALSE(streams_for(with_query({{"stdout", "yes"}}), {false, true, true, false}));
  // Nothing left.
  EXPECT_FALSE(streams_for(with_query({{"stdout", "0"}}), {false, true, false, false}));
  // A terminal has no separate stderr.
  f = streams_for(with_query({}), {true, true, true, true});
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->stderr);
  EXPECT_TRUE(f->tty);
}

TEST(WebSocketQuery, Ports) {
  PortForwardRequest open_ended{"pod", {}};
  auto p = ports_for(with_query({{"port", "80,8080"}, {"port", "9"}}), open_ended);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<uint16_t>{80, 8080, 9}));

  PortForwardRequest fixed{"pod", {80, 443}};
  p = ports_for(with_query({}), fixed);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<uint16_t>{80, 443}));
  p = ports_for(with_query({{"port", "443"}}), fixed);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<uint16_t>{443}));
  p = ports_for(with_query({{"port", "22"}}), fixed);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("22"), std::string::npos);

  EXPECT_FALSE(ports_for(with_query({}), open_ended));
  for (const char* bad : {"0", "65536", "http", "80,", "", "-1"}) {
    EXPECT_FALSE(ports_for(with_query({{"port", bad}}), open_ended)) << bad;
  }
}

}  // namespace
}  // namespace crid::stream::ws
