#include "factory/template_resolver.hpp"

#include <fstream>
#include <sstream>

#include "core/template.hpp"
#include "core/text.hpp"
#include "factory/template_fetch.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

namespace {

Result<std::string> readTemplateFile(const std::string& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return userError("cannot read template file " + path + ": " + ec.message());
    }
    if (size > kMaxTemplateBytes) {
        return userError("template file " + path + " is " + std::to_string(size) +
                         " bytes; the limit is " + std::to_string(kMaxTemplateBytes));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return userError("cannot open template file " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Result<ResolvedTemplate> resolveStoredTemplate(ImageStore& store, const std::string& id) {
    auto kind = store.kindOf(id);
    if (!kind.ok()) {
        return notFound("no template or target image with id " + id);
    }
    std::string template_id = id;
    if (*kind == RecordKind::TargetImage) {
        auto target_image = store.getTargetImage(id);
        if (!target_image.ok()) {
            return target_image.error();
        }
        template_id = target_image->template_id;
    } else if (*kind != RecordKind::Template) {
        return userError("id " + id + " names a " + std::string(recordKindName(*kind)) +
                         ", not a template or target image");
    }
    auto stored = store.getTemplate(template_id);
    if (!stored.ok()) {
        return stored.error();
    }
    return ResolvedTemplate{stored->id, stored->xml};
}

}  // namespace

Result<ResolvedTemplate> resolveTemplate(ImageStore& store, const std::string& argument,
                                         long fetch_timeout_seconds, bool files_allowed) {
    auto form = classifyTemplateArgument(argument);
    if (!form.ok()) {
        return form.error();
    }

    ResolvedTemplate resolved;
    switch (*form) {
        case TemplateForm::Xml:
            resolved.xml = argument;
            break;
        case TemplateForm::Url: {
            auto body = fetchTemplateUrl(argument, fetch_timeout_seconds, kMaxTemplateBytes);
            if (!body.ok()) {
                return body.error();
            }
            resolved.xml = std::move(*body);
            break;
        }
        case TemplateForm::Uuid: {
            auto stored = resolveStoredTemplate(store, argument);
            if (!stored.ok()) {
                return stored.error();
            }
            resolved = std::move(*stored);
            break;
        }
        case TemplateForm::Path: {
            if (!files_allowed) {
                return userError("template " + quoteValue(argument) +
                                 " looks like a file path, and this service takes no file paths: "
                                 "send the XML text, an http(s) URL or a stored template's UUID");
            }
            auto text = readTemplateFile(argument);
            if (!text.ok()) {
                return text.error();
            }
            resolved.xml = std::move(*text);
            break;
        }
    }

    // fetchTemplateUrl() has already checked what it downloaded.
    Status checked = *form == TemplateForm::Url ? okStatus() : checkTemplateXml(resolved.xml);
    if (!checked.ok()) {
        return Error{checked.error().code, "template from " + std::string(templateFormName(*form)) +
                                               " is not usable: " + checked.error().message};
    }
    return resolved;
}

}  // namespace imagefactory
