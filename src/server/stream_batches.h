// The Stream* list RPCs: the same objects as their List twins, written in
// batches so a node with thousands of objects never exceeds the gRPC
// message size limit.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

namespace crid::server {

// The default of the list_stream_batch setting.
constexpr int kStreamBatch = 500;

// Calls `fill(item, response)` for each item, writing a response every
// `batch` items and once more for the rest. `count(response)` tells how
// many items the response holds.
template <typename Response, typename Items, typename Fill, typename Count>
grpc::Status write_in_batches(grpc::ServerWriter<Response>* writer, const Items& items, Fill fill,
                              Count count, const char* rpc, int64_t batch_size = kStreamBatch) {
  if (batch_size < 1) batch_size = kStreamBatch;
  Response batch;
  for (const auto& item : items) {
    fill(item, batch);
    if (count(batch) >= batch_size) {
      if (!writer->Write(batch))
        return grpc::Status(grpc::StatusCode::CANCELLED, std::string(rpc) + ": client went away");
      batch.Clear();
    }
  }
  if (count(batch) > 0 && !writer->Write(batch))
    return grpc::Status(grpc::StatusCode::CANCELLED, std::string(rpc) + ": client went away");
  return grpc::Status::OK;
}

}  // namespace crid::server
