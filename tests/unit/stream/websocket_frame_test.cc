#include "stream/websocket_frame.h"

#include <gtest/gtest.h>

#include <string>

namespace crid::stream::ws {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

const FrameLimits kClient{Masking::kRequired, 1 << 20};
const FrameLimits kServer{Masking::kForbidden, 1 << 20};
const std::array<uint8_t, 4> kRfcKey{0x37, 0xfa, 0x21, 0x3d};

Frame parse_whole(std::string_view data, const FrameLimits& limits) {
  auto r = parse_frame(data, limits);
  EXPECT_TRUE(r) << r.error().message();
  if (!r || !*r) {
    ADD_FAILURE() << "incomplete frame";
    return {};
  }
  EXPECT_EQ((*r)->size, data.size());
  return (*r)->frame;
}

// RFC 6455 section 5.7 examples.
TEST(WebSocketFrame, RfcUnmaskedText) {
  std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  Frame f = parse_whole(wire, kServer);
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.opcode, Opcode::kText);
  EXPECT_EQ(f.payload, "Hello");
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello"), wire);
}

TEST(WebSocketFrame, RfcMaskedText) {
  std::string wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  Frame f = parse_whole(wire, kClient);
  EXPECT_EQ(f.opcode, Opcode::kText);
  EXPECT_EQ(f.payload, "Hello");
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello", true, kRfcKey), wire);
}

TEST(WebSocketFrame, RfcFragmentedText) {
  std::string first = bytes({0x01, 0x03, 0x48, 0x65, 0x6c});
  std::string second = bytes({0x80, 0x02, 0x6c, 0x6f});
  Frame a = parse_whole(first, kServer);
  Frame b = parse_whole(second, kServer);
  EXPECT_FALSE(a.fin);
  EXPECT_EQ(a.opcode, Opcode::kText);
  EXPECT_TRUE(b.fin);
  EXPECT_EQ(b.opcode, Opcode::kContinuation);

  MessageAssembler assembler(1024);
  auto m1 = assembler.add(a);
  ASSERT_TRUE(m1);
  EXPECT_FALSE(*m1);
  auto m2 = assembler.add(b);
  ASSERT_TRUE(m2);
  ASSERT_TRUE(*m2);
  EXPECT_EQ((*m2)->opcode, Opcode::kText);
  EXPECT_EQ((*m2)->payload, "Hello");
}

TEST(WebSocketFrame, RfcPingAndMaskedPong) {
  std::string ping = bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  std::string pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(parse_whole(ping, kServer).opcode, Opcode::kPing);
  Frame p = parse_whole(pong, kClient);
  EXPECT_EQ(p.opcode, Opcode::kPong);
  EXPECT_EQ(p.payload, "Hello");
  EXPECT_EQ(encode_frame(Opcode::kPing, "Hello"), ping);
}

TEST(WebSocketFrame, RfcSixteenAndSixtyFourBitLengths) {
  std::string payload256(256, 'x');
  std::string wire = encode_frame(Opcode::kBinary, payload256);
  EXPECT_EQ(wire.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(parse_whole(wire, kServer).payload, payload256);

  std::string payload64k(65536, 'y');
  wire = encode_frame(Opcode::kBinary, payload64k);
  EXPECT_EQ(wire.substr(0, 10), bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(parse_whole(wire, kServer).payload, payload64k);

  // 125 still fits the 7-bit length, 126 does not.
  EXPECT_EQ(encode_frame(Opcode::kBinary, std::string(125, 'a')).size(), 127u);
  EXPECT_EQ(encode_frame(Opcode::kBinary, std::string(126, 'a')).substr(0, 4),
            bytes({0x82, 0x7E, 0x00, 0x7E}));
}

TEST(WebSocketFrame, MaskedRoundTripOfLargePayload) {
  std::string payload;
  for (int i = 0; i < 70000; ++i) payload.push_back(static_cast<char>(i * 7));
  std::string wire = encode_frame(Opcode::kBinary, payload, true, std::array<uint8_t, 4>{1, 2, 3, 4});
  Frame f = parse_whole(wire, kClient);
  EXPECT_EQ(f.payload, payload);
}

TEST(WebSocketFrame, EveryPrefixIsIncomplete) {
  std::string wire = encode_frame(Opcode::kBinary, std::string(300, 'z'), true, kRfcKey);
  for (size_t n = 0; n < wire.size(); ++n) {
    auto r = parse_frame(std::string_view(wire).substr(0, n), kClient);
    ASSERT_TRUE(r) << "prefix " << n << ": " << r.error().message();
    EXPECT_FALSE(*r) << "prefix " << n;
  }
  // A second frame behind the first is left alone.
  std::string two = wire + encode_frame(Opcode::kPing, "", true, kRfcKey);
  auto r = parse_frame(two, kClient);
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->size, wire.size());
}

TEST(WebSocketFrame, UnmaskedClientFrameRefused) {
  auto r = parse_frame(encode_frame(Opcode::kBinary, "abc"), kClient);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("not masked"), std::string::npos);
  EXPECT_EQ(close_code_for(r.error()), close_code::kProtocolError);
}

TEST(WebSocketFrame, MaskedServerFrameRefused) {
  auto r = parse_frame(encode_frame(Opcode::kBinary, "abc", true, kRfcKey), kServer);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("masked"), std::string::npos);
}

TEST(WebSocketFrame, ReservedBitsRefused) {
  for (int rsv : {0x40, 0x20, 0x10}) {
    std::string wire = encode_frame(Opcode::kText, "Hello", true, kRfcKey);
    wire[0] = static_cast<char>(wire[0] | rsv);
    auto r = parse_frame(wire, kClient);
    ASSERT_FALSE(r) << rsv;
    EXPECT_NE(r.error().message().find("reserved bits"), std::string::npos);
  }
}

TEST(WebSocketFrame, UnknownOpcodesRefused) {
  for (int op : {0x3, 0x7, 0xB, 0xF}) {
    auto r = parse_frame(bytes({0x80 | op, 0x80, 1, 2, 3, 4}), kClient);
    ASSERT_FALSE(r) << op;
    EXPECT_NE(r.error().message().find("unknown opcode"), std::string::npos);
  }
}

TEST(WebSocketFrame, ControlFrameRules) {
  // Fragmented ping.
  auto r = parse_frame(encode_frame(Opcode::kPing, "x", false, kRfcKey), kClient);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fragmented control"), std::string::npos);
  // 126-byte close.
  r = parse_frame(encode_frame(Opcode::kClose, std::string(126, 'a'), true, kRfcKey), kClient);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("at most 125"), std::string::npos);
  // 125 bytes is fine.
  r = parse_frame(encode_frame(Opcode::kPong, std::string(125, 'a'), true, kRfcKey), kClient);
  ASSERT_TRUE(r && *r);
}

TEST(WebSocketFrame, OversizedPayloadRefusedFromTheHeaderAlone) {
  FrameLimits small{Masking::kRequired, 1000};
  // Only the header of a 1001-byte frame: refused without waiting for it.
  std::string header = bytes({0x82, 0xFE, 0x03, 0xE9, 1, 2, 3, 4});
  auto r = parse_frame(header, small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kResourceExhausted);
  EXPECT_EQ(close_code_for(r.error()), close_code::kTooBig);
  // 1000 bytes pass.
  r = parse_frame(encode_frame(Opcode::kBinary, std::string(1000, 'q'), true, kRfcKey), small);
  ASSERT_TRUE(r && *r);
  // A 64-bit length with the top bit set is malformed whatever the cap.
  r = parse_frame(bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1}), kClient);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(WebSocketMessage, ControlFramesInterleaveWithFragments) {
  MessageAssembler a(1024);
  ASSERT_FALSE(*a.add(Frame{false, Opcode::kBinary, "ab"}));
  auto ping = a.add(Frame{true, Opcode::kPing, "p"});
  ASSERT_TRUE(ping && *ping);
  EXPECT_EQ((*ping)->opcode, Opcode::kPing);
  ASSERT_FALSE(*a.add(Frame{false, Opcode::kContinuation, "cd"}));
  auto done = a.add(Frame{true, Opcode::kContinuation, "ef"});
  ASSERT_TRUE(done && *done);
  EXPECT_EQ((*done)->opcode, Opcode::kBinary);
  EXPECT_EQ((*done)->payload, "abcdef");
  // The next message starts afresh.
  auto next = a.add(Frame{true, Opcode::kBinary, "g"});
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->payload, "g");
}

TEST(WebSocketMessage, FragmentationRulesEnforced) {
  MessageAssembler a(1024);
  auto r = a.add(Frame{true, Opcode::kContinuation, "x"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("continuation"), std::string::npos);

  MessageAssembler b(1024);
  ASSERT_TRUE(b.add(Frame{false, Opcode::kText, "x"}));
  r = b.add(Frame{true, Opcode::kBinary, "y"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("before the fragmented one ended"), std::string::npos);
}

TEST(WebSocketMessage, SizeCapCountsAllFragments) {
  MessageAssembler a(10);
  ASSERT_TRUE(a.add(Frame{false, Opcode::kBinary, "123456"}));
  auto r = a.add(Frame{true, Opcode::kContinuation, "78901"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kResourceExhausted);
}

TEST(WebSocketMessage, TextMustBeUtf8) {
  MessageAssembler a(1024);
  auto r = a.add(Frame{true, Opcode::kText, "caf\xc3"});
  ASSERT_FALSE(r);
  EXPECT_EQ(close_code_for(r.error()), close_code::kInvalidPayload);
  // A character split across fragments is fine.
  MessageAssembler b(1024);
  ASSERT_TRUE(b.add(Frame{false, Opcode::kText, "caf\xc3"}));
  auto ok = b.add(Frame{true, Opcode::kContinuation, "\xa9"});
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ((*ok)->payload, "caf\xc3\xa9");
  // Binary is not checked.
  ASSERT_TRUE(a.add(Frame{true, Opcode::kBinary, "\xff\xfe"}));
}

TEST(WebSocketUtf8, Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));                             // U+1F600
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));                                    // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));                                // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));                            // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));                                    // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));                                        // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(WebSocketClose, PayloadRoundTrip) {
  std::string p = close_payload(1000, "bye");
  EXPECT_EQ(p, bytes({0x03, 0xE8, 'b', 'y', 'e'}));
  auto info = parse_close_payload(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, 1000);
  EXPECT_EQ(info->reason, "bye");

  auto empty = parse_close_payload("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->code);
}

TEST(WebSocketClose, InvalidPayloadsRefused) {
  EXPECT_FALSE(parse_close_payload(bytes({0x03})));
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 2999, 5000}) {
    std::string p = bytes({code >> 8, code & 0xFF});
    EXPECT_FALSE(parse_close_payload(p)) << code;
  }
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    std::string p = bytes({code >> 8, code & 0xFF});
    EXPECT_TRUE(parse_close_payload(p)) << code;
  }
  EXPECT_FALSE(parse_close_payload(bytes({0x03, 0xE8, 0xff})));
}

TEST(WebSocketClose, LongReasonCutAtACharacterBoundary) {
  // 61 two-byte characters plus one: the cut must not split the last.
  std::string reason;
  for (int i = 0; i < 62; ++i) reason += "\xc3\xa9";
  std::string p = close_payload(1011, reason);
  EXPECT_LE(p.size(), 125u);
  auto info = parse_close_payload(p);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->reason.size(), 122u);
  // And the whole close frame is a valid control frame.
  EXPECT_TRUE(parse_frame(encode_frame(Opcode::kClose, p, true, kRfcKey), kClient));
}

}  // namespace
}  // namespace crid::stream::ws
