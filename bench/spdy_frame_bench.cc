// SPDY framing costs on the streaming path: cutting and decoding DATA
// frames (the bulk of exec output and port-forward traffic) against a
// plain memcpy of the same bytes, and a SYN_STREAM's header block through
// the shared zlib contexts (paid once per stream).
#include <benchmark/benchmark.h>

#include <cstring>

#include "stream/spdy_frame.h"

namespace {

using namespace crid::stream::spdy;

// A buffer of back-to-back DATA frames of `payload` bytes each.
std::string data_frames(size_t payload, size_t total) {
  std::string one = *encode_data(1, 0, std::string(payload, 'x'));
  std::string buf;
  while (buf.size() < total) buf += one;
  return buf;
}

void BM_SpdyDecodeDataFrames(benchmark::State& state) {
  std::string buf = data_frames(static_cast<size_t>(state.range(0)), 1 << 20);
  HeaderDecompressor headers;
  for (auto _ : state) {
    std::string_view rest = buf;
    size_t bytes = 0;
    while (auto raw = split_frame(rest, 1 << 20)) {
      if (!*raw) break;
      auto f = decode_frame(**raw, headers);
      bytes += std::get<DataFrame>(*f).data.size();
      rest.remove_prefix((*raw)->size);
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_SpdyDecodeDataFrames)->Arg(1024)->Arg(32 * 1024);

void BM_SpdyEncodeDataFrames(benchmark::State& state) {
  std::string payload(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    auto f = encode_data(1, 0, payload);
    benchmark::DoNotOptimize(f->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_SpdyEncodeDataFrames)->Arg(1024)->Arg(32 * 1024);

// The peer: copying the same megabyte once, the floor any framing sits on.
void BM_MemcpyPeer(benchmark::State& state) {
  std::string src(1 << 20, 'x'), dst(1 << 20, '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * src.size()));
}
BENCHMARK(BM_MemcpyPeer);

void BM_SpdySynStreamRoundTrip(benchmark::State& state) {
  HeaderCompressor c;
  HeaderDecompressor d;
  uint32_t id = 1;
  HeaderList h = {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "12"}};
  for (auto _ : state) {
    auto bytes = encode_syn_stream(SynStreamFrame{id, 0, 0, 0, h}, c);
    auto raw = split_frame(*bytes, 1 << 20);
    auto f = decode_frame(**raw, d);
    benchmark::DoNotOptimize(f.ok());
    id += 2;
    if (id > 0x7ffffff0) id = 1;
  }
}
BENCHMARK(BM_SpdySynStreamRoundTrip);

}  // namespace
