"""Errors of the media domain (stable codes; the API and the sync engine map them)."""

from backend.errors import Conflict, InvalidInput, LimitExceeded, NotFound


class MediaNotFound(NotFound):
    code = "media_not_found"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class UploadGone(NotFound):
    """The upload expired or was terminated (tus answers 410)."""

    code = "upload_gone"


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"


class UploadTooLarge(LimitExceeded):
    code = "upload_too_large"


class ImageInvalid(InvalidInput):
    """Pillow refused the upload; ``code`` is one of ``imaging.RejectCode`` (e.g. ``not_an_image``)."""

    code = "image_invalid"


class UnknownRecordType(InvalidInput):
    code = "unknown_record_type"


class RecordNotFound(NotFound):
    code = "record_not_found"


class InvalidMediaKind(InvalidInput):
    code = "invalid_media_kind"


class UploadComplete(Conflict):
    code = "upload_complete"


class ChecksumMismatch(InvalidInput):
    """The chunk's ``Upload-Checksum`` does not match its bytes (tus answers 460)."""

    code = "checksum_mismatch"


class ChecksumUnsupported(InvalidInput):
    code = "checksum_algorithm_unsupported"


class UploadInvalid(InvalidInput):
    code = "upload_invalid"


class UploadLocked(Conflict):
    """Another request (on any API process) is writing this upload now; tus answers 423."""

    code = "upload_locked"
