import { useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { checkFileSize } from "@web/core/utils/files";
import { getDataURLFromFile } from "@web/core/utils/urls";
import { BinaryField, binaryField } from "@web/views/fields/binary/binary_field";

/**
 * The import wizard's upload step: a zone to click (to choose a file) or to drop a file on,
 * showing the chosen file's name. The file is stored in the binary field as the standard binary
 * widget stores it (base64 data and the file name field), for base_import's reading on "Next".
 */
export class ImportDropZoneField extends BinaryField {
    static template = "outbound_campaign.ImportDropZoneField";

    setup() {
        super.setup();
        this.input = useRef("input");
        this.state = useState({ dragging: false, reading: false });
    }

    get hasFile() {
        return Boolean(this.props.record.data[this.props.name]);
    }

    choose() {
        this.input.el.click();
    }

    onKeydown(ev) {
        if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            this.choose();
        }
    }

    onDragOver(ev) {
        // Only files may be dropped here: text or links dragged over are left alone.
        if (ev.dataTransfer && [...ev.dataTransfer.types].includes("Files")) {
            ev.preventDefault();
            this.state.dragging = true;
        }
    }

    onDragLeave(ev) {
        // Moving over the zone's own icon or text is not leaving it.
        if (!ev.currentTarget.contains(ev.relatedTarget)) {
            this.state.dragging = false;
        }
    }

    async onDrop(ev) {
        ev.preventDefault();
        this.state.dragging = false;
        await this.read(ev.dataTransfer.files);
    }

    async onChange(ev) {
        await this.read(ev.target.files);
        // The same file chosen again must fire "change" again.
        ev.target.value = null;
    }

    async read(files) {
        const [file] = files;
        if (!file || !checkFileSize(file.size, this.notification)) {
            return;
        }
        this.state.reading = true;
        try {
            const dataUrl = await getDataURLFromFile(file);
            // An empty file still counts as chosen: the server then says it is empty.
            await this.update({ data: dataUrl.split(",")[1] || "", name: file.name });
        } finally {
            this.state.reading = false;
        }
    }
}

export const importDropZoneField = {
    ...binaryField,
    component: ImportDropZoneField,
    displayName: _t("File drop zone"),
};

registry.category("fields").add("outbound_import_dropzone", importDropZoneField);
