import unittest

from greet.core import greet


class GreetTest(unittest.TestCase):
    def test_name(self) -> None:
        self.assertEqual(greet("Ada"), "Hello, Ada!")

    def test_blank(self) -> None:
        self.assertEqual(greet("  "), "Hello, world!")
