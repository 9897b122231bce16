#pragma once

#include <cstdint>
#include <string>

#include "core/job_status.hpp"

namespace imagefactory {

// Milliseconds since the Unix epoch.
using TimestampMs = int64_t;

TimestampMs nowMs();

// The kinds of record the image store keeps, with the lineage of the original Image Warehouse:
// template <- image <- build <- target image <- provider image.
enum class RecordKind { Template, Image, Build, TargetImage, ProviderImage };

std::string_view recordKindName(RecordKind kind);

struct TemplateRecord {
    std::string id;
    std::string xml;  // the text exactly as submitted
    TimestampMs created_at = 0;
};

struct ImageRecord {
    std::string id;
    std::string name;         // /template/name or /image/name, may be empty
    std::string description;  // <image> XML: the descriptor given to import, or generated
    std::string template_id;  // empty for imported images
    std::string latest_build;
    std::string latest_unpushed;
    TimestampMs created_at = 0;
    TimestampMs updated_at = 0;
};

struct BuildRecord {
    std::string id;
    std::string image_id;
    std::string parent_id;  // the build this one follows, empty for the first
    TimestampMs created_at = 0;
    TimestampMs updated_at = 0;
};

// The state of the job that produces a target or provider image.
struct JobState {
    JobStatus status = JobStatus::New;
    int percent_complete = 0;
    std::string failure_type;  // empty unless FAILED
    std::string failure_info;
};

struct TargetImageRecord {
    std::string id;
    std::string build_id;
    std::string target;
    std::string template_id;
    std::string parameters;  // JSON object text, "{}" when none
    std::string file;        // body path relative to the data directory; empty until COMPLETED
    JobState job;
    TimestampMs created_at = 0;
    TimestampMs updated_at = 0;
};

struct ProviderImageRecord {
    std::string id;
    std::string target_image_id;
    std::string provider;
    std::string target_identifier;            // the provider's own id for the image
    std::string provider_account_identifier;  // account or user name; never a secret
    std::string parameters;                   // JSON object text, "{}" when none
    JobState job;
    TimestampMs created_at = 0;
    TimestampMs updated_at = 0;
};

}  // namespace imagefactory
