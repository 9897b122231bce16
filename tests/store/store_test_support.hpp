#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "core/records.hpp"
#include "store/image_store.hpp"

namespace imagefactory::testing {

// A fresh directory under the system temporary directory, removed with everything in it on
// destruction.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "if-store-test-XXXXXX").string();
        char* created = ::mkdtemp(pattern.data());
        path_ = created != nullptr ? std::filesystem::path(created) : std::filesystem::path();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// One record of every kind, linked as template <- image <- build <- target image <- provider
// image, with ids derived from prefix.
inline StoreBatch makeLineage(const std::string& prefix) {
    StoreBatch batch;

    TemplateRecord template_record;
    template_record.id = prefix + "-template";
    template_record.xml = "<template><name>" + prefix + "</name></template>";
    batch.templates.push_back(template_record);

    ImageRecord image;
    image.id = prefix + "-image";
    image.name = prefix;
    image.description = "<image><name>" + prefix + "</name></image>";
    image.template_id = template_record.id;
    image.latest_build = prefix + "-build";
    image.latest_unpushed = prefix + "-build";
    batch.images.push_back(image);

    BuildRecord build;
    build.id = prefix + "-build";
    build.image_id = image.id;
    batch.builds.push_back(build);

    TargetImageRecord target_image;
    target_image.id = prefix + "-target-image";
    target_image.build_id = build.id;
    target_image.target = "ec2";
    target_image.template_id = template_record.id;
    target_image.parameters = R"({"disk_size":"10G"})";
    target_image.job.status = JobStatus::Building;
    target_image.job.percent_complete = 40;
    batch.target_images.push_back(target_image);

    ProviderImageRecord provider_image;
    provider_image.id = prefix + "-provider-image";
    provider_image.target_image_id = target_image.id;
    provider_image.provider = "ec2-us-east-1";
    provider_image.target_identifier = "ami-0123";
    provider_image.provider_account_identifier = "builder";
    provider_image.parameters = "{}";
    provider_image.job.status = JobStatus::Pending;
    batch.provider_images.push_back(provider_image);

    return batch;
}

inline void writeFile(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace imagefactory::testing
