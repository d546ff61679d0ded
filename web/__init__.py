"""The AdaStyle web page (Gradio): every control of the paper in the browser."""
