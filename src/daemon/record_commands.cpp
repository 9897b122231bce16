#include "daemon/record_commands.hpp"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "store/image_store.hpp"

namespace imagefactory {

namespace {

using nlohmann::ordered_json;

ordered_json toJson(const JobState& job) {
    ordered_json out;
    out["status"] = std::string(jobStatusName(job.status));
    out["percent_complete"] = job.percent_complete;
    if (!job.failure_type.empty()) {
        out["failure_type"] = job.failure_type;
        out["failure_info"] = job.failure_info;
    }
    return out;
}

ordered_json toJson(const ImageRecord& r) {
    return {{"kind", "image"},
            {"id", r.id},
            {"name", r.name},
            {"template", r.template_id},
            {"latest_build", r.latest_build},
            {"latest_unpushed", r.latest_unpushed},
            {"description", r.description},
            {"created_at", r.created_at},
            {"updated_at", r.updated_at}};
}

ordered_json toJson(const BuildRecord& r) {
    return {{"kind", "build"},
            {"id", r.id},
            {"image", r.image_id},
            {"parent", r.parent_id},
            {"created_at", r.created_at},
            {"updated_at", r.updated_at}};
}

ordered_json toJson(const TargetImageRecord& r) {
    ordered_json out = {{"kind", "target_image"},    {"id", r.id},
                        {"build", r.build_id},       {"target", r.target},
                        {"template", r.template_id}, {"file", r.file}};
    out.update(toJson(r.job));
    out["parameters"] =
        ordered_json::parse(r.parameters.empty() ? "{}" : r.parameters, nullptr, false);
    out["created_at"] = r.created_at;
    out["updated_at"] = r.updated_at;
    return out;
}

ordered_json toJson(const ProviderImageRecord& r) {
    ordered_json out = {{"kind", "provider_image"},
                        {"id", r.id},
                        {"target_image", r.target_image_id},
                        {"provider", r.provider},
                        {"target_identifier", r.target_identifier},
                        {"provider_account_identifier", r.provider_account_identifier}};
    out.update(toJson(r.job));
    out["created_at"] = r.created_at;
    out["updated_at"] = r.updated_at;
    return out;
}

ordered_json toJson(const TemplateRecord& r) {
    return {{"kind", "template"}, {"id", r.id}, {"xml", r.xml}, {"created_at", r.created_at}};
}

// The record with id and its children, as JSON.
Result<ordered_json> describe(ImageStore& store, const std::string& id) {
    auto kind = store.kindOf(id);
    if (!kind.ok()) {
        return kind.error();
    }
    switch (*kind) {
        case RecordKind::Template: {
            auto r = store.getTemplate(id);
            if (!r.ok()) {
                return r.error();
            }
            return toJson(*r);
        }
        case RecordKind::Image: {
            auto r = store.getImage(id);
            if (!r.ok()) {
                return r.error();
            }
            ordered_json out = toJson(*r);
            out["builds"] = ordered_json::array();
            auto builds = store.buildsOfImage(id);
            if (builds.ok()) {
                for (const auto& build : *builds) {
                    out["builds"].push_back(build.id);
                }
            }
            return out;
        }
        case RecordKind::Build: {
            auto r = store.getBuild(id);
            if (!r.ok()) {
                return r.error();
            }
            ordered_json out = toJson(*r);
            out["target_images"] = ordered_json::array();
            auto children = store.targetImagesOfBuild(id);
            if (children.ok()) {
                for (const auto& child : *children) {
                    out["target_images"].push_back(toJson(child));
                }
            }
            return out;
        }
        case RecordKind::TargetImage: {
            auto r = store.getTargetImage(id);
            if (!r.ok()) {
                return r.error();
            }
            ordered_json out = toJson(*r);
            out["provider_images"] = ordered_json::array();
            auto children = store.providerImagesOfTargetImage(id);
            if (children.ok()) {
                for (const auto& child : *children) {
                    out["provider_images"].push_back(toJson(child));
                }
            }
            return out;
        }
        case RecordKind::ProviderImage: {
            auto r = store.getProviderImage(id);
            if (!r.ok()) {
                return r.error();
            }
            return toJson(*r);
        }
    }
    return internalError("unknown record kind");
}

void printTable(const ordered_json& object, int indent = 0) {
    for (const auto& [key, value] : object.items()) {
        std::string pad(indent, ' ');
        if (value.is_array()) {
            std::cout << pad << key << ":\n";
            for (const auto& item : value) {
                if (item.is_object()) {
                    printTable(item, indent + 2);
                    std::cout << "\n";
                } else {
                    std::cout << pad << "  " << item.get<std::string>() << "\n";
                }
            }
        } else if (value.is_object()) {
            std::cout << pad << key << ": " << value.dump() << "\n";
        } else if (value.is_string()) {
            std::cout << pad << key << ": " << value.get<std::string>() << "\n";
        } else {
            std::cout << pad << key << ": " << value.dump() << "\n";
        }
    }
}

int listImages(ImageStore& store, bool json) {
    auto images = store.listImages();
    if (!images.ok()) {
        std::cerr << "imagefactory: " << images.error().message << "\n";
        return exitStatusFor(images.error().code);
    }
    if (json) {
        ordered_json list = ordered_json::array();
        for (const auto& image : *images) {
            list.push_back(toJson(image));
        }
        std::cout << list.dump(2) << "\n";
        return 0;
    }
    std::printf("%-36s  %-20s  %-36s  %-36s\n", "IMAGE", "NAME", "LATEST BUILD", "LATEST UNPUSHED");
    for (const auto& image : *images) {
        std::printf("%-36s  %-20s  %-36s  %-36s\n", image.id.c_str(), image.name.c_str(),
                    image.latest_build.empty() ? "-" : image.latest_build.c_str(),
                    image.latest_unpushed.empty() ? "-" : image.latest_unpushed.c_str());
    }
    return 0;
}

int printLog(ImageStore& store, const std::string& id) {
    auto kind = store.kindOf(id);
    if (!kind.ok() || (*kind != RecordKind::TargetImage && *kind != RecordKind::ProviderImage)) {
        std::cerr << "imagefactory: no target or provider image with id " << id << "\n";
        return exitStatusFor(ErrorCode::NotFound);
    }
    std::string folder = *kind == RecordKind::TargetImage ? "target_images" : "provider_images";
    std::filesystem::path file = store.dataDir() / folder / id / "job.log";
    std::ifstream in(file);
    if (!in) {
        std::cerr << "imagefactory: no log for " << id << " at " << file.string() << "\n";
        return exitStatusFor(ErrorCode::NotFound);
    }
    std::cout << in.rdbuf();
    return 0;
}

}  // namespace

int runRecordCommand(const Settings& settings) {
    auto store = openSqliteImageStoreForReading(dataDirOf(settings));
    if (!store.ok()) {
        std::cerr << "imagefactory: " << store.error().message << "\n";
        return exitStatusFor(store.error().code);
    }
    bool json = settings.output == "json";
    if (settings.command == "images") {
        return listImages(**store, json);
    }
    if (settings.command == "log") {
        return printLog(**store, settings.record_id);
    }
    auto described = describe(**store, settings.record_id);
    if (!described.ok()) {
        std::cerr << "imagefactory: " << described.error().message << "\n";
        return exitStatusFor(described.error().code);
    }
    if (json) {
        std::cout << described->dump(2) << "\n";
    } else {
        printTable(*described);
    }
    return 0;
}

}  // namespace imagefactory
