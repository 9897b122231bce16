#include "build/image_targets.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "build/base_image_cache.hpp"
#include "build/boot_check.hpp"
#include "build/debian_builder.hpp"
#include "build/debian_release.hpp"
#include "build/image_checks.hpp"
#include "build/image_formats.hpp"
#include "build/process_runner.hpp"
#include "core/template.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

// Stages of a target build, as shares of the whole: the base image (mmdebstrap, template,
// assembly, checks) up to 70, conversion up to 85, verification up to 90, boot checks to 99.
constexpr int kBaseDone = 70;
constexpr int kConverted = 85;
constexpr int kVerified = 90;

Status checkPackageNames(const Tdl& tdl) {
    static const std::regex kDebianName("[a-z0-9][a-z0-9+.-]+");
    for (const TdlPackage& package : tdl.packages) {
        if (!std::regex_match(package.name, kDebianName)) {
            return userError("package name " + quoteValue(package.name) +
                             " is not a Debian package name (lowercase letters, digits, + - .)");
        }
    }
    return okStatus();
}

std::string libvirtDomainXml(const std::string& name, const std::string& disk_path) {
    return "<domain type='kvm'>\n"
           "  <name>" +
           name +
           "</name>\n"
           "  <memory unit='MiB'>1024</memory>\n"
           "  <vcpu>1</vcpu>\n"
           "  <os>\n"
           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
           "    <boot dev='hd'/>\n"
           "  </os>\n"
           "  <features><acpi/><apic/></features>\n"
           "  <devices>\n"
           "    <disk type='file' device='disk'>\n"
           "      <driver name='qemu' type='raw'/>\n"
           "      <source file='" +
           disk_path +
           "'/>\n"
           "      <target dev='vda' bus='virtio'/>\n"
           "    </disk>\n"
           "    <interface type='network'>\n"
           "      <source network='default'/>\n"
           "      <model type='virtio'/>\n"
           "    </interface>\n"
           "    <serial type='pty'><target port='0'/></serial>\n"
           "    <console type='pty'><target type='serial' port='0'/></console>\n"
           "  </devices>\n"
           "</domain>\n";
}

class DebianImageTarget : public Target {
  public:
    DebianImageTarget(std::string name, ImageFormat format, bool libvirt_xml,
                      const ImageTargetOptions& options)
        : name_(std::move(name)),
          format_(format),
          libvirt_xml_(libvirt_xml),
          options_(options),
          cache_(options.data_dir / "base_images") {}

    std::string name() const override { return name_; }
    std::string failureType() const override { return "ImageBuild"; }

    Status checkTemplate(const std::string& template_xml) const override {
        Result<Tdl> tdl = parseTdl(template_xml);
        if (!tdl) {
            return tdl.error();
        }
        Result<DebianRelease> release = resolveDebianRelease(*tdl);
        if (!release) {
            return release.error();
        }
        return checkPackageNames(*tdl);
    }

    Result<BuildOutput> build(const BuildRequest& request, JobContext& context) override;

  private:
    Result<bool> bootCheckWanted(const std::string& parameters) const;

    std::string name_;
    ImageFormat format_;
    bool libvirt_xml_;
    ImageTargetOptions options_;
    BaseImageCache cache_;
};

Result<bool> DebianImageTarget::bootCheckWanted(const std::string& parameters) const {
    if (parameters.empty()) {
        return options_.boot_check;
    }
    try {
        nlohmann::json doc = nlohmann::json::parse(parameters);
        if (!doc.is_object()) {
            return userError("build parameters " + quoteValue(parameters) +
                             " are not a JSON object");
        }
        auto it = doc.find("boot_check");
        if (it == doc.end()) {
            return options_.boot_check;
        }
        if (!it->is_boolean()) {
            return userError("build parameter boot_check must be true or false");
        }
        return it->get<bool>();
    } catch (const nlohmann::json::exception&) {
        return userError("build parameters " + quoteValue(parameters) + " are not valid JSON");
    }
}

Result<BuildOutput> DebianImageTarget::build(const BuildRequest& request, JobContext& context) {
    auto logger = context.logger();
    ProcessRunner runner(logger, &context.cancelToken());
    Result<bool> boot_check = bootCheckWanted(request.parameters);
    if (!boot_check) {
        return boot_check.error();
    }
    Result<Tdl> tdl = parseTdl(request.template_xml);
    if (!tdl) {
        return tdl.error();
    }
    Result<DebianRelease> release = resolveDebianRelease(*tdl);
    if (!release) {
        return release.error();
    }
    if (Status s = checkPackageNames(*tdl); !s) {
        return s.error();
    }

    BaseImageRecipe recipe{*tdl, *release, tdl->install_location, options_.security_mirror,
                           tdl->disk_size_bytes.value_or(options_.default_disk_bytes)};
    Result<std::string> key =
        cache_.keyFor(canonicalTemplateText(*tdl, *release, recipe.mirror, recipe.disk_bytes));
    if (!key) {
        return key.error();
    }
    logger->info("base image key={} suite={} target={}", *key, release->codename, name_);

    const fs::path& work = context.workDir();
    DebianImageBuilder builder(
        runner, logger, [&context](int percent) { context.setPercent(percent * kBaseDone / 100); });
    auto build_base = [&](const fs::path& disk) -> Result<BaseImageInfo> {
        Result<BaseImageInfo> info =
            builder.build(recipe, work / "base-build", options_.data_dir / "deb_cache", disk);
        if (!info) {
            return info;
        }
        // The scratch root (hundreds of MB) is not needed once the disk holds it.
        std::error_code ec;
        fs::remove_all(work / "base-build", ec);
        return info;
    };
    Result<BaseImageCache::Entry> base =
        cache_.getOrBuild(*key, work / "base-image", context.cancelToken(), build_base);
    if (!base) {
        return base.error();
    }
    logger->info("base image {} key={}", base->reused ? "reused" : "built", *key);
    if (Status s = checkBaseImage(runner, base->disk, base->info, *tdl); !s) {
        return s.error();
    }
    context.setPercent(kBaseDone);

    fs::path output_dir = work / "output";
    std::error_code ec;
    fs::create_directories(output_dir, ec);
    fs::path output = output_dir / imageFileName(format_);
    auto conversion_progress = [&context](double fraction) {
        context.setPercent(kBaseDone + static_cast<int>(fraction * (kConverted - kBaseDone)));
    };
    if (Status s =
            convertImage(runner, base->disk, format_, output, tdl->name, conversion_progress);
        !s) {
        return s.error();
    }
    context.setPercent(kConverted);
    if (Status s = verifyImage(runner, output, format_, base->info.layout.disk_bytes); !s) {
        return s.error();
    }
    logger->info("verified {} bytes={}", output.filename().string(), fs::file_size(output, ec));
    context.setPercent(kVerified);

    nlohmann::json parameters = nlohmann::json::object();
    parameters["base_image"] = *key;
    parameters["base_image_reused"] = base->reused;
    parameters["format"] = imageFileName(format_);
    parameters["virtual_size"] = base->info.layout.disk_bytes;
    if (*boot_check) {
        BootChecker checker(runner, logger, options_.boot_timeout);
        // OVA and GCE bodies are archives QEMU cannot open; their disk is the base image's.
        bool archive = format_ == ImageFormat::Ova || format_ == ImageFormat::GceTarball;
        fs::path boot_disk = archive ? base->disk : output;
        std::string boot_format = archive ? "raw" : qemuFormatName(format_);
        for (Firmware firmware : {Firmware::Uefi, Firmware::Bios}) {
            Result<BootReport> report = checker.boot(boot_disk, boot_format, firmware);
            if (!report) {
                return report.error();
            }
            parameters[std::string("boot_") + firmwareName(firmware)] = {
                {"accelerator", report->accelerator}, {"seconds", report->seconds}};
            context.setPercent(firmware == Firmware::Uefi ? 95 : 99);
        }
    }
    if (libvirt_xml_) {
        parameters["libvirt_xml"] =
            libvirtDomainXml("condorimage-" + request.target_image_id,
                             "/home/cloud/images/condorimage-" + request.target_image_id + ".img");
    }
    return BuildOutput{output, imageFileName(format_), parameters.dump()};
}

}  // namespace

void registerImageTargets(TargetRegistry& registry, const ImageTargetOptions& options) {
    struct Spec {
        const char* name;
        ImageFormat format;
        bool libvirt_xml;
    };
    const Spec specs[] = {
        {"openstack-kvm", ImageFormat::Qcow2, false}, {"rhevm", ImageFormat::Qcow2, false},
        {"libvirt", ImageFormat::Qcow2, false},       {"ec2", ImageFormat::Raw, false},
        {"vsphere", ImageFormat::Ova, false},         {"azure", ImageFormat::VhdFixed, false},
        {"hyperv", ImageFormat::Vhdx, false},         {"gce", ImageFormat::GceTarball, false},
        {"condorcloud", ImageFormat::Raw, true},
    };
    for (const Spec& spec : specs) {
        registry.add(
            std::make_shared<DebianImageTarget>(spec.name, spec.format, spec.libvirt_xml, options));
    }
}

}  // namespace imagefactory
