"""Reading pictures as people post them: a file → the MNIST convention the network was trained on, one stage a module.

    decode.py        the file → a Picture: any region of it as one channel in which the digit stands out (limits,
                     first frame, EXIF, shrinking)
    ink.py           the picture → ink coverage in [0, 1] of the ink's region, read at the ink's own scale:
                     lighting, polarity and faint lines removed, by
    coverage.py      a look at the picture → the ink split from the paper: which side is ink, the background with the
                     lighting removed, ruled lines seen through, faint ink only beside strong ink
    surfaces.py      a sticky note or a page seen from afar, taken for ink: the writing on it found and read instead
    measures.py      the measures of arrays the stages share: median, quantile, Otsu's split, the ink's span and box, resizing
    clutter.py       what is not handwriting, set aside: a table or shadow along the edge, a pen, the paper's edge, a coin
    segmentation.py  the ink → pieces left to right; any run of pieces framed as a 28×28 MNIST digit
    splitting.py     which runs of pieces are a number's digits, with the network's confidence in each

`to_mnist` reads a picture of one digit; `segment` cuts a picture's ink into pieces for reading it as a number (the
inference service reads the candidate runs and lets `splitting` choose). Every failure is an `ImageError` whose
message can be shown to the user as is. Nothing here knows the network, the store or Discord.
"""

from digits.reading.decode import ImageError, ImageLimits
from digits.reading.segmentation import MAX_DIGITS, Segmentation, frame, segment, to_mnist, too_many_digits

__all__ = ["MAX_DIGITS", "ImageError", "ImageLimits", "Segmentation", "frame", "segment", "to_mnist",
           "too_many_digits"]
