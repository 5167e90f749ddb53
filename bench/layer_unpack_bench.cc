// Layer unpack throughput: crid's unpacker (decompress + hash + safe
// extraction) against GNU tar on the same blob as the peer, run side by side.
// Throughput is reported per compressed and per uncompressed byte. Each run
// starts after a sync() and ends with the files in the page cache (the
// layer store's syncfs before commit is not part of this figure).
#include <archive.h>
#include <archive_entry.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "image/layer_unpack.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace {

constexpr int64_t kTargetUncompressed = 100ll << 20;  // compresses to ~50 MiB

struct Blob {
  std::string path;
  int64_t compressed = 0;
  int64_t uncompressed = 0;
};

void check(int r, archive* a) {
  if (r < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
}

// A layer shaped like a real root filesystem: nested dirs, files from 1 KiB
// to 256 KiB whose content is half random and half text (so gzip halves it),
// plus symlinks. Deterministic across runs.
Blob make_layer(const std::string& dir, bool zstd) {
  Blob b;
  b.path = dir + (zstd ? "/layer.tar.zst" : "/layer.tar.gz");
  archive* a = archive_write_new();
  check(archive_write_set_format_pax_restricted(a), a);
  check(zstd ? archive_write_add_filter_zstd(a) : archive_write_add_filter_gzip(a), a);
  check(archive_write_open_filename(a, b.path.c_str()), a);
  std::mt19937_64 rng(42);
  std::string text;
  while (text.size() < (1 << 20)) text += "lorem ipsum dolor sit amet, consectetur adipiscing elit; ";
  std::string data;
  int n = 0;
  while (b.uncompressed < kTargetUncompressed) {
    std::string d = "usr/lib/pkg" + std::to_string(n / 50);
    if (n % 50 == 0) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, d.c_str());
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
      check(archive_write_header(a, e), a);
      archive_entry_free(e);
    }
    size_t size = 1024 + rng() % (256 * 1024);
    data.resize(size);
    for (size_t i = 0; i < size / 2; i += 8) {
      uint64_t r = rng();
      std::memcpy(&data[i], &r, std::min<size_t>(8, size / 2 - i));
    }
    std::memcpy(&data[size / 2], text.data(), size - size / 2);
    archive_entry* e = archive_entry_new();
    std::string path = d + "/file" + std::to_string(n);
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<int64_t>(size));
    archive_entry_set_mtime(e, 1600000000, 0);
    check(archive_write_header(a, e), a);
    archive_write_data(a, data.data(), size);
    archive_entry_free(e);
    if (n % 10 == 0) {
      archive_entry* l = archive_entry_new();
      std::string lp = path + ".link";
      archive_entry_set_pathname(l, lp.c_str());
      archive_entry_set_filetype(l, AE_IFLNK);
      archive_entry_set_symlink(l, ("file" + std::to_string(n)).c_str());
      archive_entry_set_perm(l, 0777);
      check(archive_write_header(a, l), a);
      archive_entry_free(l);
    }
    b.uncompressed += static_cast<int64_t>(size);
    ++n;
  }
  check(archive_write_close(a), a);
  archive_write_free(a);
  struct stat st;
  ::stat(b.path.c_str(), &st);
  b.compressed = st.st_size;
  return b;
}

struct Fixture {
  std::string dir;
  Blob gz, zst;
  Fixture() {
    spdlog::set_level(spdlog::level::warn);
    char tmpl[] = "/tmp/crid-bench-unpack-XXXXXX";
    dir = ::mkdtemp(tmpl);
    gz = make_layer(dir, false);
    zst = make_layer(dir, true);
  }
  ~Fixture() { (void)crid::fs::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void report(benchmark::State& state, const Blob& blob) {
  state.SetBytesProcessed(state.iterations() * blob.compressed);
  state.counters["compressed_MiB"] = static_cast<double>(blob.compressed) / (1 << 20);
  state.counters["uncompressed_MiB_per_s"] = benchmark::Counter(
      static_cast<double>(blob.uncompressed) / (1 << 20), benchmark::Counter::kIsIterationInvariantRate);
}

void unpack_with_crid(benchmark::State& state, const Blob& blob) {
  std::string dest = fixture().dir + "/dest";
  for (auto _ : state) {
    state.PauseTiming();
    (void)crid::fs::remove_all(dest);
    ::mkdir(dest.c_str(), 0755);
    ::sync();  // start each run without the previous one's writeback pending
    crid::UniqueFd fd(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC));
    state.ResumeTiming();
    auto r = crid::image::unpack_layer(fd.get(), dest, {"sha256:bench", false});
    if (!r.ok()) state.SkipWithError(r.error().message().c_str());
  }
  (void)crid::fs::remove_all(dest);
  report(state, blob);
}

void BM_UnpackLayer_Crid_Gzip(benchmark::State& state) { unpack_with_crid(state, fixture().gz); }
void BM_UnpackLayer_Crid_Zstd(benchmark::State& state) { unpack_with_crid(state, fixture().zst); }

// The peer: GNU tar with its gzip child, extracting the same blob (it does
// not hash, and runs decompression in a second process).
void BM_UnpackLayer_GnuTar_Gzip(benchmark::State& state) {
  const Blob& blob = fixture().gz;
  std::string dest = fixture().dir + "/dest-tar";
  for (auto _ : state) {
    state.PauseTiming();
    (void)crid::fs::remove_all(dest);
    ::mkdir(dest.c_str(), 0755);
    ::sync();
    state.ResumeTiming();
    auto r = crid::run_process({{"/bin/tar", "-xzf", blob.path, "-C", dest}});
    if (!r.ok() || !r->success()) state.SkipWithError("tar failed");
  }
  (void)crid::fs::remove_all(dest);
  report(state, blob);
}

BENCHMARK(BM_UnpackLayer_Crid_Gzip)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK(BM_UnpackLayer_GnuTar_Gzip)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK(BM_UnpackLayer_Crid_Zstd)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace
