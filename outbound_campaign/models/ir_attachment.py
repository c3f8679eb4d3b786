import hashlib
import mmap
import os
import tempfile

from odoo import api, models
from odoo.tools import SQL

#: Bytes read and written at a time when a file is copied into the filestore.
CHUNK = 1 << 20


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    @api.model
    def _create_from_file(self, values, file):
        """An attachment of ``values`` holding the binary ``file`` (read from its start), copied
        into the filestore in chunks: a file of a million lines (a recording, a rejects file)
        never sits whole in memory. Attachments stored in the database get its bytes."""
        file.seek(0)
        if self._storage() == "db":
            return self.create(values | {"raw": file.read()})
        # Read once: hashed while copied beside the filestore's folders, then renamed into place
        # (a copy cut short never sits under the checksum's name, where the next would take it
        # as done), or dropped if the same bytes are stored already.
        filestore = self._filestore()
        os.makedirs(filestore, exist_ok=True)  # a new database has none until its first file
        digest = hashlib.sha1()
        with tempfile.NamedTemporaryFile(dir=filestore, delete=False) as copy:
            try:
                while block := file.read(CHUNK):
                    digest.update(block)
                    copy.write(block)
                copy.flush()
                checksum, size = digest.hexdigest(), copy.tell()
                # _get_path reads the bytes only to tell a SHA-1 collision from a file already
                # stored: mapped, they are read from the copy then (an empty file cannot be mapped).
                with (
                    mmap.mmap(copy.fileno(), 0, access=mmap.ACCESS_READ)
                    if size
                    else memoryview(b"") as content
                ):
                    fname, full_path = self._get_path(content, checksum)
            except BaseException:
                os.unlink(copy.name)
                raise
        if os.path.exists(full_path):
            os.unlink(copy.name)
        else:
            os.replace(copy.name, full_path)
            self._mark_for_gc(fname)  # collected if this transaction rolls back
        # Odoo indexes every word of a text file for the attachments' search: a rejects file's
        # million lines would be three copies in memory and a second one in the database, for a
        # search nobody runs on it. Its type only, as Odoo's index of a file that is not text.
        attachment = self.create(values | {"index_content": values["mimetype"].partition("/")[0]})
        # create() computes these from the bytes it is given, which it is not: set as copied.
        self.env.cr.execute(
            SQL(
                "UPDATE ir_attachment SET store_fname = %s, checksum = %s, file_size = %s WHERE id = %s",
                fname,
                checksum,
                size,
                attachment.id,
            )
        )
        attachment.invalidate_recordset(["store_fname", "checksum", "file_size", "raw", "datas"])
        return attachment
