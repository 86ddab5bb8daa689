from enum import StrEnum


class OutputFormat(StrEnum):
    WEBP = "webp"
    JPG = "jpg"
    PNG = "png"

    def __str__(self) -> str:
        return str(self.value)
