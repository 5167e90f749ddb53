// Image records as CRI messages: one place for the fields every image RPC
// shares (ListImages, StreamImages, ImageStatus).
#pragma once

#include "image/types.h"
#include "runtime/v1/api.pb.h"

namespace crid::server {

// Fills `out` from `rec`; uid or username come from the config's User.
void to_cri_image(const image::ImageRecord& rec, ::runtime::v1::Image* out);

}  // namespace crid::server
