#include "image/digest.h"
#include "image/image_store.h"

#include <chrono>
#include <sstream>

#include "image/layer_unpack.h"
#include "util/log.h"
#include "util/printable.h"

namespace crid::image {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,
  config_json TEXT NOT NULL,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL,
  chain_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
  image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX IF NOT EXISTS image_names_by_image ON image_names(image_id);
)sql";

constexpr size_t kMinPrefix = 3;

bool is_lower_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string join_ids(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ' ';
    out += id;
  }
  return out;
}

std::vector<std::string> split_ids(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string id; in >> id;) out.push_back(id);
  return out;
}

int64_t now_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ImageStoreImpl final : public ImageStore {
 public:
  ImageStoreImpl(store::Database& db, LayerStore& layers) : db_(db), layers_(layers) {}

  Status put(const ImageRecord& rec) override {
    if (!is_sha256_digest(rec.id))
      return make_error(ErrorKind::kInvalidArgument, "storing image {}: id is not a sha256 digest",
                        printable(rec.id));
    return db_.transaction([&]() -> Status {
      if (!exists(rec.id)) {
        CRID_ASSIGN(auto ins, db_.prepare(
            "INSERT INTO images (id, config_json, size, created, chain_ids) VALUES (?, ?, ?, ?, ?)"));
        ins.bind(1, rec.id).bind(2, rec.config_json).bind(3, rec.size)
            .bind(4, rec.created_unix_nanos ? rec.created_unix_nanos : now_nanos())
            .bind(5, join_ids(rec.chain_ids));
        CRID_TRY(ins.run());
        for (const auto& chain : rec.chain_ids)
          CRID_TRY_CTX(layers_.add_ref_in_transaction(chain), "storing image {}", rec.id);
      }
      // A name belongs to one image: setting it here takes it from any other
      // (which then stays, possibly with no names, as a dangling image).
      for (const auto& tag : rec.repo_tags) CRID_TRY(set_name(tag, "tag", rec.id));
      for (const auto& digest : rec.repo_digests) CRID_TRY(set_name(digest, "digest", rec.id));
      return Ok();
    });
  }

  std::optional<ImageRecord> find(const std::string& ref) override {
    if (ref.empty()) return std::nullopt;
    std::string_view hex = ref;
    if (hex.starts_with("sha256:")) hex.remove_prefix(7);
    bool hexy = is_lower_hex(hex);
    if (hexy && hex.size() == 64) {
      if (auto rec = load("sha256:" + std::string(hex))) return rec;
    }
    if (auto id = name_owner(ref)) return load(*id);
    if (hexy && hex.size() >= kMinPrefix && hex.size() < 64) {
      auto stmt = db_.prepare("SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2");
      if (!stmt) return std::nullopt;
      std::string prefix = "sha256:" + std::string(hex);
      stmt->bind(1, static_cast<int64_t>(prefix.size())).bind(2, prefix);
      auto first = stmt->step();
      if (!first || !*first) return std::nullopt;
      std::string id = stmt->text(0);
      auto second = stmt->step();
      if (!second || *second) return std::nullopt;  // ambiguous prefix
      return load(id);
    }
    return std::nullopt;
  }

  std::vector<ImageRecord> list() override {
    std::vector<std::string> ids;
    if (auto stmt = db_.prepare("SELECT id FROM images ORDER BY created, id")) {
      while (true) {
        auto row = stmt->step();
        if (!row || !*row) break;
        ids.push_back(stmt->text(0));
      }
    }
    std::vector<ImageRecord> out;
    for (const auto& id : ids)
      if (auto rec = load(id)) out.push_back(std::move(*rec));
    return out;
  }

  Status remove(const std::string& id_or_hex) override {
    std::string id = id_or_hex.starts_with("sha256:") ? id_or_hex : "sha256:" + id_or_hex;
    std::vector<std::string> released;
    CRID_TRY(db_.transaction([&]() -> Status {
      if (!exists(id)) return make_error(ErrorKind::kNotFound, "image {} not found", id_or_hex);
      return delete_image(id, released);
    }));
    layers_.remove_released(released);
    return Ok();
  }

  Status untag(const std::string& name) override {
    std::vector<std::string> released;
    CRID_TRY(db_.transaction([&]() -> Status {
      auto owner = name_owner(name);
      if (!owner) return make_error(ErrorKind::kNotFound, "image name {} not found", name);
      CRID_ASSIGN(auto del, db_.prepare("DELETE FROM image_names WHERE name = ?"));
      del.bind(1, name);
      CRID_TRY(del.run());
      CRID_ASSIGN(auto left, db_.prepare("SELECT COUNT(*) FROM image_names WHERE image_id = ?"));
      left.bind(1, *owner);
      CRID_TRY(left.step());
      if (left.integer(0) > 0) return Ok();
      return delete_image(*owner, released);
    }));
    layers_.remove_released(released);
    return Ok();
  }

 private:
  bool exists(const std::string& id) {
    auto stmt = db_.prepare("SELECT 1 FROM images WHERE id = ?");
    if (!stmt) return false;
    stmt->bind(1, id);
    auto row = stmt->step();
    return row && *row;
  }

  std::optional<std::string> name_owner(const std::string& name) {
    auto stmt = db_.prepare("SELECT image_id FROM image_names WHERE name = ?");
    if (!stmt) return std::nullopt;
    stmt->bind(1, name);
    auto row = stmt->step();
    if (!row || !*row) return std::nullopt;
    return stmt->text(0);
  }

  Status set_name(const std::string& name, const char* kind, const std::string& id) {
    if (name.empty()) return make_error(ErrorKind::kInvalidArgument, "storing image {}: empty name", id);
    CRID_ASSIGN(auto up, db_.prepare(
        "INSERT INTO image_names (name, kind, image_id) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, image_id = excluded.image_id"));
    up.bind(1, name).bind(2, std::string(kind)).bind(3, id);
    return up.run();
  }

  // Inside a transaction: the image's names, its row and its layer references.
  Status delete_image(const std::string& id, std::vector<std::string>& released) {
    CRID_ASSIGN(auto sel, db_.prepare("SELECT chain_ids FROM images WHERE id = ?"));
    sel.bind(1, id);
    CRID_ASSIGN(bool row, sel.step());
    if (!row) return make_error(ErrorKind::kNotFound, "image {} not found", id);
    auto chains = split_ids(sel.text(0));
    CRID_ASSIGN(auto del_names, db_.prepare("DELETE FROM image_names WHERE image_id = ?"));
    del_names.bind(1, id);
    CRID_TRY(del_names.run());
    CRID_ASSIGN(auto del, db_.prepare("DELETE FROM images WHERE id = ?"));
    del.bind(1, id);
    CRID_TRY(del.run());
    for (const auto& chain : chains) {
      auto r = layers_.release_in_transaction(chain);
      if (!r) {
        // Already gone (e.g. removed by hand): nothing to release.
        if (r.error().kind() == ErrorKind::kNotFound) continue;
        return r.error().wrap(fmt::format("removing image {}", id));
      }
      released.insert(released.end(), r->begin(), r->end());
    }
    return Ok();
  }

  std::optional<ImageRecord> load(const std::string& id) {
    auto stmt = db_.prepare("SELECT config_json, size, created, chain_ids FROM images WHERE id = ?");
    if (!stmt) return std::nullopt;
    stmt->bind(1, id);
    auto row = stmt->step();
    if (!row || !*row) return std::nullopt;
    ImageRecord rec;
    rec.id = id;
    rec.config_json = stmt->text(0);
    rec.size = stmt->integer(1);
    rec.created_unix_nanos = stmt->integer(2);
    rec.chain_ids = split_ids(stmt->text(3));
    auto names = db_.prepare("SELECT name, kind FROM image_names WHERE image_id = ? ORDER BY name");
    if (!names) return std::nullopt;
    names->bind(1, id);
    while (true) {
      auto r = names->step();
      if (!r || !*r) break;
      (names->text(1) == "tag" ? rec.repo_tags : rec.repo_digests).push_back(names->text(0));
    }
    return rec;
  }

  store::Database& db_;
  LayerStore& layers_;
};

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::open(store::Database& db, LayerStore& layers) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "opening image store");
  return std::unique_ptr<ImageStore>(std::make_unique<ImageStoreImpl>(db, layers));
}

}  // namespace crid::image
