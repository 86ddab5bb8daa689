from enum import StrEnum


class OutputFormat(StrEnum):
    JPG = "jpg"
    PNG = "png"

    def __str__(self) -> str:
        return str(self.value)
