from enum import StrEnum


class OutputFormat(StrEnum):
    JPG = "jpg"
    PNG = "png"
    WEBP = "webp"

    def __str__(self) -> str:
        return str(self.value)
