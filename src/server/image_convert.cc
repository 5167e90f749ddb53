#include "server/image_convert.h"

#include <cctype>

#include "image/image_store.h"

namespace crid::server {

namespace {

// "1000", "1000:1000" -> uid; "nginx", "nginx:group" -> username; "" -> neither
// (the kubelet then treats the image as running as root).
void set_user(const std::string& user, ::runtime::v1::Image* out) {
  std::string u = user.substr(0, user.find(':'));
  if (u.empty()) return;
  bool numeric = u.size() < 19;
  for (char c : u) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  if (numeric) out->mutable_uid()->set_value(std::stoll(u));
  else out->set_username(u);
}

}  // namespace

void to_cri_image(const image::ImageRecord& rec, ::runtime::v1::Image* out) {
  out->set_id(rec.id);
  for (auto& t : rec.repo_tags) out->add_repo_tags(t);
  for (auto& d : rec.repo_digests) out->add_repo_digests(d);
  out->set_size(rec.size > 0 ? static_cast<uint64_t>(rec.size) : 0);
  out->mutable_spec()->set_image(rec.id);
  out->set_pinned(rec.pinned);
  if (auto cfg = image::parse_image_config(rec.config_json)) set_user(cfg->user, out);
}

}  // namespace crid::server
