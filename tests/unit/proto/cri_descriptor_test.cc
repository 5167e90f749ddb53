// Wire-contract test for proto/runtime/v1/api.proto.
//
// cri_descriptor_facts.tsv lists every message, field, enum value, service
// and rpc of the public CRI v1 API (k8s.io/cri-api), extracted from the
// upstream descriptor. Each fact is checked against the descriptors compiled
// into crid_proto; any difference would make crid wire-incompatible with the
// kubelet and crictl, so every mismatch is reported by name.

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/v1/api.grpc.pb.h"
#include "runtime/v1/api.pb.h"

#ifndef CRID_PROTO_FACTS
#error "CRID_PROTO_FACTS must name cri_descriptor_facts.tsv"
#endif

namespace crid {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

constexpr const char* kFactsPath = CRID_PROTO_FACTS;

// One table row: its kind (first column), the remaining columns, and the
// line number for error messages.
struct Fact {
  std::string kind;
  std::vector<std::string> cols;
  int line = 0;
};

struct Facts {
  std::vector<Fact> rows;
  std::vector<std::string> errors;  // malformed rows
};

std::vector<std::string> SplitTabs(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Number of columns after the kind, per row kind.
const std::map<std::string, size_t>& Arity() {
  static const std::map<std::string, size_t> arity = {
      {"message", 2}, {"field", 5}, {"enum", 2}, {"enum_value", 3}, {"service", 2}, {"rpc", 6},
  };
  return arity;
}

const Facts& LoadFacts() {
  static const Facts facts = [] {
    Facts f;
    std::ifstream in(kFactsPath);
    if (!in) {
      f.errors.push_back(std::string("cannot open ") + kFactsPath);
      return f;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> cols = SplitTabs(line);
      Fact fact;
      fact.kind = cols[0];
      fact.cols.assign(cols.begin() + 1, cols.end());
      fact.line = n;
      auto it = Arity().find(fact.kind);
      if (it == Arity().end()) {
        f.errors.push_back("line " + std::to_string(n) + ": unknown row kind '" + fact.kind + "'");
        continue;
      }
      if (fact.cols.size() != it->second) {
        f.errors.push_back("line " + std::to_string(n) + ": '" + fact.kind + "' row needs " +
                           std::to_string(it->second) + " columns after the kind, has " +
                           std::to_string(fact.cols.size()));
        continue;
      }
      f.rows.push_back(std::move(fact));
    }
    return f;
  }();
  return facts;
}

std::vector<const Fact*> RowsOf(const std::string& kind) {
  std::vector<const Fact*> out;
  for (const Fact& f : LoadFacts().rows) {
    if (f.kind == kind) out.push_back(&f);
  }
  return out;
}

// Referencing a generated message forces api.pb.cc into the link, which
// registers the file with the generated pool.
const FileDescriptor* OurFile() { return runtime::v1::VersionRequest::descriptor()->file(); }

const DescriptorPool* Pool() { return DescriptorPool::generated_pool(); }

// Looks a type up in the generated pool and insists it comes from our file.
const Descriptor* FindMessage(const std::string& name) {
  const Descriptor* d = Pool()->FindMessageTypeByName(name);
  return (d != nullptr && d->file() == OurFile()) ? d : nullptr;
}

const EnumDescriptor* FindEnum(const std::string& name) {
  const EnumDescriptor* e = Pool()->FindEnumTypeByName(name);
  return (e != nullptr && e->file() == OurFile()) ? e : nullptr;
}

const ServiceDescriptor* FindService(const std::string& name) {
  const ServiceDescriptor* s = Pool()->FindServiceByName(name);
  return (s != nullptr && s->file() == OurFile()) ? s : nullptr;
}

// Same spelling as the table: lower-case type, plus ":<full name>" for
// message and enum fields.
std::string TypeOf(const FieldDescriptor* f) {
  std::string t = FieldDescriptor::TypeName(f->type());
  if (f->message_type() != nullptr) t += ":" + f->message_type()->full_name();
  if (f->enum_type() != nullptr) t += ":" + f->enum_type()->full_name();
  return t;
}

std::string LabelOf(const FieldDescriptor* f) {
  if (f->has_optional_keyword()) return "proto3_optional";
  switch (f->label()) {
    case FieldDescriptor::LABEL_OPTIONAL:
      return "optional";
    case FieldDescriptor::LABEL_REQUIRED:
      return "required";
    case FieldDescriptor::LABEL_REPEATED:
      return "repeated";
  }
  return "?";
}

void CollectMessages(const Descriptor* d, std::vector<const Descriptor*>* out,
                     std::vector<const EnumDescriptor*>* enums) {
  out->push_back(d);
  for (int i = 0; i < d->nested_type_count(); ++i) {
    CollectMessages(d->nested_type(i), out, enums);
  }
  for (int i = 0; i < d->enum_type_count(); ++i) enums->push_back(d->enum_type(i));
}

TEST(CriDescriptorFacts, TableIsWellFormedAndLargeEnough) {
  const Facts& facts = LoadFacts();
  for (const std::string& e : facts.errors) ADD_FAILURE() << kFactsPath << ": " << e;
  ASSERT_FALSE(facts.rows.empty()) << "no facts loaded from " << kFactsPath;

  size_t real_messages = 0;
  for (const Fact* m : RowsOf("message")) {
    const std::string& name = m->cols[0];
    if (name.size() < 5 || name.compare(name.size() - 5, 5, "Entry") != 0) ++real_messages;
  }
  EXPECT_GE(real_messages, 150u) << "table covers too few (non map-entry) messages";
  EXPECT_FALSE(RowsOf("field").empty());
  EXPECT_FALSE(RowsOf("enum_value").empty());
  EXPECT_EQ(RowsOf("service").size(), 2u);
  EXPECT_FALSE(RowsOf("rpc").empty());
}

TEST(CriDescriptorFacts, MessagesHaveExactlyTheListedFields) {
  for (const Fact* m : RowsOf("message")) {
    const std::string& name = m->cols[0];
    const Descriptor* d = FindMessage(name);
    if (d == nullptr) {
      ADD_FAILURE() << "message " << name << " (facts line " << m->line
                    << ") is missing from runtime/v1/api.proto";
      continue;
    }
    int want = std::atoi(m->cols[1].c_str());
    if (d->field_count() != want) {
      ADD_FAILURE() << "message " << name << " has " << d->field_count()
                    << " fields, the public API has " << want;
    }
  }
}

TEST(CriDescriptorFacts, FieldsMatch) {
  std::map<std::string, int> listed_per_message;
  for (const Fact* f : RowsOf("field")) {
    const std::string& msg = f->cols[0];
    const std::string& field = f->cols[1];
    const int number = std::atoi(f->cols[2].c_str());
    const std::string& type = f->cols[3];
    const std::string& label = f->cols[4];
    const std::string where = msg + "." + field;
    ++listed_per_message[msg];

    const Descriptor* d = FindMessage(msg);
    if (d == nullptr) {
      ADD_FAILURE() << where << ": message " << msg << " is missing";
      continue;
    }
    const FieldDescriptor* fd = d->FindFieldByName(field);
    if (fd == nullptr) {
      ADD_FAILURE() << where << ": field is missing (public API number " << number << ")";
      continue;
    }
    if (fd->number() != number) {
      ADD_FAILURE() << where << ": field number is " << fd->number() << ", public API has "
                    << number;
    }
    if (TypeOf(fd) != type) {
      ADD_FAILURE() << where << ": type is " << TypeOf(fd) << ", public API has " << type;
    }
    if (LabelOf(fd) != label) {
      ADD_FAILURE() << where << ": label is " << LabelOf(fd) << ", public API has " << label;
    }
  }
  // No extra fields: our count per message equals the number of rows.
  for (const auto& [msg, n] : listed_per_message) {
    const Descriptor* d = FindMessage(msg);
    if (d != nullptr && d->field_count() != n) {
      ADD_FAILURE() << "message " << msg << " declares " << d->field_count()
                    << " fields, the table lists " << n;
    }
  }
  // Messages listed with zero fields must have none either.
  for (const Fact* m : RowsOf("message")) {
    const Descriptor* d = FindMessage(m->cols[0]);
    if (d != nullptr && listed_per_message.count(m->cols[0]) == 0 && d->field_count() != 0) {
      ADD_FAILURE() << "message " << m->cols[0] << " should be empty but declares "
                    << d->field_count() << " fields";
    }
  }
}

TEST(CriDescriptorFacts, EnumsMatch) {
  for (const Fact* e : RowsOf("enum")) {
    const EnumDescriptor* ed = FindEnum(e->cols[0]);
    if (ed == nullptr) {
      ADD_FAILURE() << "enum " << e->cols[0] << " is missing";
      continue;
    }
    int want = std::atoi(e->cols[1].c_str());
    if (ed->value_count() != want) {
      ADD_FAILURE() << "enum " << e->cols[0] << " has " << ed->value_count()
                    << " values, the public API has " << want;
    }
  }
  for (const Fact* v : RowsOf("enum_value")) {
    const std::string where = v->cols[0] + "." + v->cols[1];
    const EnumDescriptor* ed = FindEnum(v->cols[0]);
    if (ed == nullptr) {
      ADD_FAILURE() << where << ": enum " << v->cols[0] << " is missing";
      continue;
    }
    const EnumValueDescriptor* vd = ed->FindValueByName(v->cols[1]);
    if (vd == nullptr) {
      ADD_FAILURE() << where << ": enum value is missing";
      continue;
    }
    int want = std::atoi(v->cols[2].c_str());
    if (vd->number() != want) {
      ADD_FAILURE() << where << ": value is " << vd->number() << ", public API has " << want;
    }
  }
}

TEST(CriDescriptorFacts, RpcsMatch) {
  for (const Fact* s : RowsOf("service")) {
    const ServiceDescriptor* sd = FindService(s->cols[0]);
    if (sd == nullptr) {
      ADD_FAILURE() << "service " << s->cols[0] << " is missing";
      continue;
    }
    int want = std::atoi(s->cols[1].c_str());
    if (sd->method_count() != want) {
      ADD_FAILURE() << "service " << s->cols[0] << " has " << sd->method_count()
                    << " rpcs, the public API has " << want;
    }
  }
  for (const Fact* r : RowsOf("rpc")) {
    const std::string where = r->cols[0] + "." + r->cols[1];
    const ServiceDescriptor* sd = FindService(r->cols[0]);
    if (sd == nullptr) {
      ADD_FAILURE() << where << ": service " << r->cols[0] << " is missing";
      continue;
    }
    const MethodDescriptor* md = sd->FindMethodByName(r->cols[1]);
    if (md == nullptr) {
      ADD_FAILURE() << where << ": rpc is missing";
      continue;
    }
    if (md->input_type()->full_name() != r->cols[2]) {
      ADD_FAILURE() << where << ": input is " << md->input_type()->full_name()
                    << ", public API has " << r->cols[2];
    }
    if (md->output_type()->full_name() != r->cols[3]) {
      ADD_FAILURE() << where << ": output is " << md->output_type()->full_name()
                    << ", public API has " << r->cols[3];
    }
    if (md->client_streaming() != (r->cols[4] == "1")) {
      ADD_FAILURE() << where << ": client_streaming is " << int{md->client_streaming()}
                    << ", public API has " << r->cols[4];
    }
    if (md->server_streaming() != (r->cols[5] == "1")) {
      ADD_FAILURE() << where << ": server_streaming is " << int{md->server_streaming()}
                    << ", public API has " << r->cols[5];
    }
  }
}

// The reverse direction: nothing in our file that the public API lacks.
TEST(CriDescriptorFacts, NoExtraDeclarations) {
  std::set<std::string> messages, enums, services;
  for (const Fact* m : RowsOf("message")) messages.insert(m->cols[0]);
  for (const Fact* e : RowsOf("enum")) enums.insert(e->cols[0]);
  for (const Fact* s : RowsOf("service")) services.insert(s->cols[0]);

  const FileDescriptor* file = OurFile();
  std::vector<const Descriptor*> all_messages;
  std::vector<const EnumDescriptor*> all_enums;
  for (int i = 0; i < file->message_type_count(); ++i) {
    CollectMessages(file->message_type(i), &all_messages, &all_enums);
  }
  for (int i = 0; i < file->enum_type_count(); ++i) all_enums.push_back(file->enum_type(i));

  for (const Descriptor* d : all_messages) {
    if (messages.count(d->full_name()) == 0) {
      ADD_FAILURE() << "message " << d->full_name() << " is not in the public API";
    }
  }
  for (const EnumDescriptor* e : all_enums) {
    if (enums.count(e->full_name()) == 0) {
      ADD_FAILURE() << "enum " << e->full_name() << " is not in the public API";
    }
  }
  for (int i = 0; i < file->service_count(); ++i) {
    if (services.count(file->service(i)->full_name()) == 0) {
      ADD_FAILURE() << "service " << file->service(i)->full_name() << " is not in the public API";
    }
  }
  EXPECT_EQ(all_messages.size(), messages.size());
  EXPECT_EQ(all_enums.size(), enums.size());
}

TEST(CriDescriptorFile, PackageAndServices) {
  const FileDescriptor* file = OurFile();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->name(), "runtime/v1/api.proto");
  EXPECT_EQ(file->package(), "runtime.v1");
  EXPECT_EQ(file->syntax(), FileDescriptor::SYNTAX_PROTO3);
  EXPECT_NE(FindService("runtime.v1.RuntimeService"), nullptr);
  EXPECT_NE(FindService("runtime.v1.ImageService"), nullptr);
  // The gRPC codegen agrees on the wire names of both services.
  EXPECT_STREQ(runtime::v1::RuntimeService::service_full_name(), "runtime.v1.RuntimeService");
  EXPECT_STREQ(runtime::v1::ImageService::service_full_name(), "runtime.v1.ImageService");
}

}  // namespace
}  // namespace crid
