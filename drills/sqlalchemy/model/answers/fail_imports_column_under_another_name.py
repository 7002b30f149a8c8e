# expect: fail
# check: modern_style
# message: 1.x form
# Column and declarative_base under other names: still the 1.x forms.
# 1.x style throughout, under other names
from sqlalchemy import Column as Col, Integer, String, Text
from sqlalchemy.orm import declarative_base as make_base

Base = make_base()


class Document(Base):
    __tablename__ = "documents"
    id = Col(Integer, primary_key=True)
    title = Col(String(200), nullable=False)
    body = Col(Text, nullable=False)
