"""Reversible patches of module-level functions (SDPA, clip_grad_norm_, eager attention)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable


class FunctionPatch:
    """Replace `owner.name` by a wrapper around it; `remove()` puts the original back.

    If someone else patched the same attribute after us, removing leaves their patch in
    place and turns ours into a plain pass-through, so patches never get lost.
    """

    def __init__(self, owner: Any, name: str, around: Callable[..., Any]) -> None:
        self.owner, self.name = owner, name
        # patched on an instance (a method of its class): removing deletes the attribute
        self.had_own = name in getattr(owner, "__dict__", {name: None})
        self.original = getattr(owner, name)
        self.active = False
        original = self.original

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not self.active:
                return original(*args, **kwargs)
            return around(original, *args, **kwargs)

        self.wrapper = wrapper

    def install(self) -> None:
        self.active = True
        setattr(self.owner, self.name, self.wrapper)

    def remove(self) -> None:
        self.active = False
        if getattr(self.owner, self.name, None) is self.wrapper:
            if self.had_own:
                setattr(self.owner, self.name, self.original)
            else:
                delattr(self.owner, self.name)


def remove_all(handles: list[Any], patches: Iterable[FunctionPatch] = ()) -> None:
    """Undo what a probe installed: torch hook handles (the list is emptied) and patches."""
    for handle in handles:
        handle.remove()
    handles.clear()
    for patch in patches:
        patch.remove()
