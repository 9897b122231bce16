#include "providers/condorcloud_driver.hpp"

#include <libxml/tree.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/template_xml.hpp"
#include "core/text.hpp"
#include "providers/export_files.hpp"

namespace imagefactory {

namespace fs = std::filesystem;

namespace {

constexpr const char* kImagesDirSetting = "images_dir";
constexpr const char* kNamePrefix = "condorimage-";
// The percent reached when the copy ends: copying is nearly all of a push.
constexpr int kCopyDone = 95;

const xmlChar* xmlName(const char* text) {
    return reinterpret_cast<const xmlChar*>(text);
}

xmlNode* firstChildElement(xmlNode* parent, const char* name) {
    for (xmlNode* child = parent ? parent->children : nullptr; child; child = child->next) {
        if (isElement(child, name)) {
            return child;
        }
    }
    return nullptr;
}

xmlNode* childElementOrNew(xmlNode* parent, const char* name) {
    xmlNode* child = firstChildElement(parent, name);
    return child ? child : xmlNewChild(parent, nullptr, xmlName(name), nullptr);
}

// The disk that boots the domain: the first <disk device='disk'>, else the first <disk>.
xmlNode* bootDisk(xmlNode* devices) {
    xmlNode* first = nullptr;
    for (xmlNode* child = devices->children; child; child = child->next) {
        if (!isElement(child, "disk")) {
            continue;
        }
        XmlAttribute device = xmlAttribute(child, "device");
        if (!device.present || device.value == "disk") {
            return child;
        }
        first = first ? first : child;
    }
    return first;
}

// Parses the build's domain XML with the template parser's limits: no network, no DTD, no
// entities, at most 1 MiB.
Result<XmlDocPtr> readDomainXml(const std::string& xml) {
    return readXmlDocument(xml, XmlDocumentKind{"libvirt_xml of the target image", "domain"});
}

XmlDocPtr minimalDomain() {
    XmlDocPtr doc(xmlNewDoc(xmlName("1.0")));
    xmlNode* domain = xmlNewNode(nullptr, xmlName("domain"));
    xmlDocSetRootElement(doc.get(), domain);
    xmlNewProp(domain, xmlName("type"), xmlName("kvm"));
    xmlNode* memory = xmlNewChild(domain, nullptr, xmlName("memory"), xmlName("1024"));
    xmlNewProp(memory, xmlName("unit"), xmlName("MiB"));
    xmlNewChild(domain, nullptr, xmlName("vcpu"), xmlName("1"));
    xmlNode* os = xmlNewChild(domain, nullptr, xmlName("os"), nullptr);
    xmlNode* type = xmlNewChild(os, nullptr, xmlName("type"), xmlName("hvm"));
    xmlNewProp(type, xmlName("arch"), xmlName("x86_64"));
    xmlNode* boot = xmlNewChild(os, nullptr, xmlName("boot"), nullptr);
    xmlNewProp(boot, xmlName("dev"), xmlName("hd"));
    xmlNode* devices = xmlNewChild(domain, nullptr, xmlName("devices"), nullptr);
    xmlNode* disk = xmlNewChild(devices, nullptr, xmlName("disk"), nullptr);
    xmlNewProp(disk, xmlName("type"), xmlName("file"));
    xmlNewProp(disk, xmlName("device"), xmlName("disk"));
    xmlNode* target = xmlNewChild(disk, nullptr, xmlName("target"), nullptr);
    xmlNewProp(target, xmlName("dev"), xmlName("vda"));
    xmlNewProp(target, xmlName("bus"), xmlName("virtio"));
    return doc;
}

Result<fs::path> imagesDir(const ProviderDefinition& provider) {
    if (Status keys = checkSettingKeys(provider.settings, "condorcloud", {kImagesDirSetting});
        !keys) {
        return keys.error();
    }
    Result<std::string> dir =
        stringSetting(provider.settings, kImagesDirSetting, kDefaultCondorImagesDir);
    if (!dir) {
        return dir.error();
    }
    if (dir->empty() || (*dir)[0] != '/') {
        return userError("provider setting images_dir must be an absolute path, not " +
                         quoteValue(*dir));
    }
    return fs::path(*dir);
}

// The libvirt_xml member of the target image's parameters, or "" when there is none.
Result<std::string> libvirtXmlParameter(const std::string& parameters) {
    if (parameters.empty()) {
        return std::string();
    }
    nlohmann::json doc = nlohmann::json::parse(parameters, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return userError("target image parameters are not a JSON object");
    }
    auto it = doc.find("libvirt_xml");
    if (it == doc.end()) {
        return std::string();
    }
    if (!it->is_string()) {
        return userError("target image parameter libvirt_xml is not a string");
    }
    return it->get<std::string>();
}

}  // namespace

Result<std::string> condorDomainXml(const std::string& domain_xml, const std::string& name,
                                    const fs::path& disk_path, const std::string& disk_format) {
    XmlDocPtr doc;
    if (domain_xml.empty()) {
        doc = minimalDomain();
    } else {
        Result<XmlDocPtr> parsed = readDomainXml(domain_xml);
        if (!parsed) {
            return parsed.error();
        }
        doc = std::move(*parsed);
    }
    xmlNode* domain = xmlDocGetRootElement(doc.get());

    // xmlNodeSetContent would parse entity references in the text; the encoded form stores it
    // literally, since the name is data.
    xmlNode* name_node = childElementOrNew(domain, "name");
    xmlChar* encoded = xmlEncodeSpecialChars(doc.get(), xmlName(name.c_str()));
    xmlNodeSetContent(name_node, encoded);
    xmlFree(encoded);

    xmlNode* devices = childElementOrNew(domain, "devices");
    xmlNode* disk = bootDisk(devices);
    if (!disk) {
        disk = xmlNewChild(devices, nullptr, xmlName("disk"), nullptr);
        xmlNewProp(disk, xmlName("type"), xmlName("file"));
        xmlNewProp(disk, xmlName("device"), xmlName("disk"));
    }
    xmlSetProp(disk, xmlName("type"), xmlName("file"));
    xmlNode* driver = childElementOrNew(disk, "driver");
    xmlSetProp(driver, xmlName("name"), xmlName("qemu"));
    xmlSetProp(driver, xmlName("type"), xmlName(disk_format.c_str()));
    xmlNode* source = childElementOrNew(disk, "source");
    // A disk of another type may carry dev= or pool= instead; after the change it is a file.
    xmlUnsetProp(source, xmlName("dev"));
    xmlUnsetProp(source, xmlName("pool"));
    xmlUnsetProp(source, xmlName("volume"));
    xmlSetProp(source, xmlName("file"), xmlName(disk_path.c_str()));

    xmlChar* text = nullptr;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc.get(), &text, &size, "UTF-8", 1);
    if (!text) {
        return internalError("cannot serialize the libvirt domain XML");
    }
    std::string result(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
    xmlFree(text);
    return result;
}

Status CondorCloudDriver::checkPush(const ProviderDefinition& provider,
                                    const ProviderCredentials&) const {
    Result<fs::path> dir = imagesDir(provider);
    if (!dir) {
        return dir.error();
    }
    if (Status s = checkWritableDirectory(*dir, kImagesDirSetting); !s) {
        return s;
    }
    return checkWritableDirectory(*dir / "staging", "images_dir + /staging");
}

Result<PushOutput> CondorCloudDriver::push(const PushRequest& request, JobContext& context) {
    auto log = context.logger();
    auto started = std::chrono::steady_clock::now();
    if (Status s = checkPush(request.provider, request.credentials); !s) {
        return s.error();
    }
    fs::path dir = *imagesDir(request.provider);
    if (!isPlainName(request.provider_image_id)) {
        return userError("provider image id " + quoteValue(request.provider_image_id) +
                         " cannot be used in a file name");
    }
    Result<std::string> domain_xml = libvirtXmlParameter(request.target_image_parameters);
    if (!domain_xml) {
        return domain_xml.error();
    }
    Result<DiskImageInfo> disk = readDiskImageInfo(request.target_image_file);
    if (!disk) {
        return disk.error();
    }

    const std::string name = kNamePrefix + request.provider_image_id;
    const fs::path staging = dir / "staging";
    const fs::path staged_image = staging / (name + ".img");
    const fs::path staged_xml = staging / (name + ".xml");
    const fs::path final_image = dir / (name + ".img");
    const fs::path final_xml = dir / (name + ".xml");
    std::error_code ec;
    for (const fs::path& existing : {final_image, final_xml}) {
        if (fs::exists(fs::symlink_status(existing, ec))) {
            return invalidState(existing.string() + " already exists; remove it or push again");
        }
    }

    // Both staged files go away again unless the push gets as far as publishing them.
    RemoveOnExit staged_image_guard(staged_image);
    RemoveOnExit staged_xml_guard(staged_xml);
    log->info("copying {} to {}", request.target_image_file.string(), staged_image.string());
    if (Status s = copyImageFile(request.target_image_file, staged_image, context, 0, kCopyDone);
        !s) {
        return s.error();
    }

    Result<std::string> xml = condorDomainXml(*domain_xml, name, final_image, disk->format);
    if (!xml) {
        return xml.error();
    }
    if (Status s = writeNewFile(staged_xml, *xml); !s) {
        return s.error();
    }
    if (context.cancelToken().cancelled()) {
        return Error{ErrorCode::Aborted, "aborted before publishing " + name};
    }

    // The image goes first and the XML last: a reader that waits for the XML then finds the
    // whole image. A rename within one file system never shows a partial file.
    if (Status s = renameNoReplace(staged_image, final_image); !s) {
        return s.error();
    }
    staged_image_guard.release();
    RemoveOnExit published_image_guard(final_image);
    if (Status s = renameNoReplace(staged_xml, final_xml); !s) {
        return s.error();
    }
    staged_xml_guard.release();
    published_image_guard.release();
    if (Status s = syncDirectory(dir); !s) {
        // The files are in place and complete; only their durability across a crash is unsure.
        log->warn("{}", s.error().message);
    }
    context.setPercent(100);

    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log->info("pushed condor image {} ({} bytes, {}) in {:.1f} s", final_image.string(),
              fs::file_size(final_image, ec), disk->format, seconds);
    PushOutput output;
    output.target_identifier = name;
    nlohmann::json parameters = {{"image_path", final_image.string()},
                                 {"libvirt_xml_path", final_xml.string()}};
    output.parameters = parameters.dump();
    return output;
}

Result<std::string> CondorCloudDriver::checkImport(const ImportRequest& request) const {
    const std::string& identifier = request.target_identifier;
    if (!isPlainName(identifier)) {
        return userError("condorcloud target identifier " + quoteValue(identifier) +
                         " is not a plain image name (no '/', no '..', not empty)");
    }
    Result<fs::path> dir = imagesDir(request.provider);
    if (!dir) {
        return dir.error();
    }
    std::error_code ec;
    for (const char* extension : {".img", ".xml"}) {
        fs::path path = *dir / (identifier + extension);
        if (!fs::is_regular_file(path, ec)) {
            return notFound("condorcloud image " + quoteValue(identifier) +
                            " not found: " + path.string() + " does not exist");
        }
    }
    return identifier;
}

}  // namespace imagefactory
