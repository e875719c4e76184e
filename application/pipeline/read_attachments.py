"""Reading a message's pictures and files: each fetched through the message's channel (every
kind gets them its own way), a picture decoded, scaled and kept in the blob store, a file's
text extracted and cut to its share of the prompt. One at a time, so memory holds one."""

from __future__ import annotations

import hashlib

from application.pipeline.ask_with_memory import Attached
from application.pipeline.channel import Channel
from application.ports.media import BlobStore, PictureReader, TextExtractor
from application.ports.models import TokenCounter
from domain.documents import document_budget, document_prompt, fitted_text
from domain.events import Event, FileRead, PictureSeen
from domain.message_progress import MessageProgress
from domain.messages import PICTURE, Attachment

UNNAMED_FILE = "file"


class ReadAttachments:
    def __init__(
        self,
        pictures: PictureReader,
        documents: TextExtractor,
        blobs: BlobStore,
        count_tokens: TokenCounter,
    ):
        self._pictures = pictures
        self._documents = documents
        self._blobs = blobs
        self._count = count_tokens

    async def __call__(
        self, channel: Channel, progress: MessageProgress, attachments: tuple[Attachment, ...]
    ) -> list[Event]:
        """A PictureSeen or FileRead for each attachment, to be appended together; raises
        MediaError at the first that cannot be used (nothing is recorded then)."""
        found: list[tuple[type[Event], dict]] = []
        pictures = 0
        for item in attachments:
            if item.kind != PICTURE:
                found.append((FileRead, await self._file(channel, item)))
            elif pictures < channel.rules.max_prompt_images:
                # Pictures past what one prompt shows are not even fetched.
                pictures += 1
                found.append((PictureSeen, await self._picture(channel, item)))
        # Recorded only once all are read: a failure leaves the message's progress as it was.
        return [progress.record(kind, **fields) for kind, fields in found]

    async def _picture(self, channel: Channel, item: Attachment) -> dict:
        fetched = await channel.fetch(item, channel.rules.max_image_bytes)
        picture = await self._pictures.prepare(fetched.data)
        digest = await self._blobs.put(picture.data, picture.media_type)
        return {
            "digest": digest,
            "media_type": picture.media_type,
            "width": picture.width,
            "height": picture.height,
            "quoted": item.quoted,
        }

    async def _file(self, channel: Channel, item: Attachment) -> dict:
        fetched = await channel.fetch(item, channel.rules.max_file_bytes)
        data = fetched.data
        name = item.name or fetched.name or UNNAMED_FILE
        extracted = await self._documents.extract(data, name)
        budget = document_budget(channel.rules.conversation_max_tokens)
        return {
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "text": fitted_text(extracted.text, extracted.left_out, budget, self._count),
            "quoted": item.quoted,
        }


def attached_of(seen: list[PictureSeen | FileRead]) -> Attached:
    """What the model is shown with the question, from the message's recorded reads."""
    pictures = tuple(event.digest for event in seen if isinstance(event, PictureSeen))
    files = [document_prompt(e.name, e.text) for e in seen if isinstance(e, FileRead)]
    return Attached(pictures=pictures, document="\n\n".join(files))
